import { InMemoryRotationStore } from '../support/memoryPorts';
import { rotationStoreContract } from './rotationStoreContract';

// The same contract runs against TableRotationStore in RotationStore.azurite.test.ts.
rotationStoreContract('InMemoryRotationStore', () => new InMemoryRotationStore());
