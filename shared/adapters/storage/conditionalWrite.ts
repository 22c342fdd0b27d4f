import { TableClient, TableEntity } from '@azure/data-tables';
import { WriteConflict } from '../../app/ports';
import {
  StorageCallOptions,
  classifyStorageAnswer,
  codeOf,
  statusOf,
  storageCall,
} from './storageFaults';

/**
 * Writes an entity only if nobody else wrote it since it was read: Replace under the ETag read
 * (`previousEtag`), or create when it did not exist (undefined). Someone else's write first is a
 * `WriteConflict` (412, or 409 on create; or 404 on replace: the entity was deleted since, its
 * table with it perhaps): read again and decide again. Returns the new ETag.
 */
export async function conditionalWrite<T extends object>(
  table: TableClient,
  entity: TableEntity<T>,
  previousEtag: string | undefined,
  what: string,
  options: StorageCallOptions = {},
): Promise<string> {
  return storageCall(
    `write ${what}`,
    async () => {
      try {
        const response =
          previousEtag !== undefined
            ? await table.updateEntity(entity, 'Replace', { etag: previousEtag })
            : await table.createEntity(entity);
        if (!response.etag) throw new Error('table service returned no ETag');
        return response.etag;
      } catch (error) {
        const status = statusOf(error);
        const answer = classifyStorageAnswer(error);
        const gone = status === 404 && previousEtag !== undefined && answer !== 'missing-resource';
        const conflict =
          status === 412 ||
          (status === 409 && previousEtag === undefined && answer !== 'transient') ||
          gone ||
          codeOf(error) === 'UpdateConditionNotSatisfied';
        if (conflict) throw new WriteConflict(`${what} changed since it was read`);
        throw error;
      }
    },
    options,
  );
}
