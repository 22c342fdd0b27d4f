import { BlobDeadLetters } from '../../shared/adapters/storage/BlobDeadLetters';
import { containerClient, freshPrefix } from '../support/rawStorage';
import { deadLettersContract } from './deadLettersContract';

// The same contract runs against InMemoryDeadLetters in DeadLetters.test.ts.
deadLettersContract(
  'BlobDeadLetters on Azurite',
  () => new BlobDeadLetters(containerClient(`${freshPrefix()}-deadletters`)),
);
