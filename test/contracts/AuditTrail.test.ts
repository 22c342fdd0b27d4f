import { InMemoryAuditTrail } from '../support/memoryPorts';
import { auditTrailContract } from './auditTrailContract';

// The same contract runs against BlobAuditTrail in AuditTrail.azurite.test.ts.
auditTrailContract('InMemoryAuditTrail', () => new InMemoryAuditTrail());
