import { TablePacingStore } from '../../shared/adapters/storage/TablePacingStore';
import { freshPrefix, tableClient } from '../support/rawStorage';
import { pacingStoreContract } from './pacingStoreContract';

// The same contract runs against InMemoryPacingStore in PacingStore.test.ts.
pacingStoreContract(
  'TablePacingStore on Azurite',
  () => new TablePacingStore(tableClient(`${freshPrefix()}state`)),
);
