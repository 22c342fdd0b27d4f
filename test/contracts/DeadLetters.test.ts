import { InMemoryDeadLetters } from '../support/memoryPorts';
import { deadLettersContract } from './deadLettersContract';

// The same contract runs against BlobDeadLetters in DeadLetters.azurite.test.ts.
deadLettersContract('InMemoryDeadLetters', () => new InMemoryDeadLetters());
