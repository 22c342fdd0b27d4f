import { TableRotationStore } from '../../shared/adapters/storage/TableRotationStore';
import { freshPrefix, tableClient } from '../support/rawStorage';
import { rotationStoreContract } from './rotationStoreContract';

// The same contract runs against InMemoryRotationStore in RotationStore.test.ts.
rotationStoreContract(
  'TableRotationStore on Azurite',
  () => new TableRotationStore(tableClient(`${freshPrefix()}state`)),
);
