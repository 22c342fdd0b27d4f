import { InMemoryPacingStore } from '../support/memoryPorts';
import { pacingStoreContract } from './pacingStoreContract';

// The same contract runs against TablePacingStore in PacingStore.azurite.test.ts.
pacingStoreContract('InMemoryPacingStore', () => new InMemoryPacingStore());
