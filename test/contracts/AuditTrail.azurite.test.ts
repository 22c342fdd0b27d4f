import { BlobAuditTrail } from '../../shared/adapters/storage/BlobAuditTrail';
import { containerClient, freshPrefix } from '../support/rawStorage';
import { auditTrailContract } from './auditTrailContract';

// The same contract runs against InMemoryAuditTrail in AuditTrail.test.ts. Four shards: a
// device's entries keep their order while the devices of a day spread over blobs.
auditTrailContract(
  'BlobAuditTrail on Azurite',
  () => new BlobAuditTrail(containerClient(`${freshPrefix()}-audit`), 4),
);
