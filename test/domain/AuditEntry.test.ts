import { auditEntryId } from '../../shared/domain/AuditEntry';

describe('auditEntryId', () => {
  const parts = ['certificate.renewed', 'contoso-hub', 'thermostat-0001', 3] as const;

  it('is the same for the same facts, so a redelivered event yields no second record', () => {
    expect(auditEntryId(parts)).toBe(auditEntryId([...parts]));
    expect(auditEntryId(parts)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('changes with every part', () => {
    const ids = new Set([
      auditEntryId(parts),
      auditEntryId(['certificate.removed', 'contoso-hub', 'thermostat-0001', 3]),
      auditEntryId(['certificate.renewed', 'fabrikam-hub', 'thermostat-0001', 3]),
      auditEntryId(['certificate.renewed', 'contoso-hub', 'thermostat-0002', 3]),
      auditEntryId(['certificate.renewed', 'contoso-hub', 'thermostat-0001', 4]),
    ]);

    expect(ids.size).toBe(5);
  });

  it('does not let parts run into each other', () => {
    expect(auditEntryId(['ab', 'c'])).not.toBe(auditEntryId(['a', 'bc']));
    expect(auditEntryId(['a', 3])).not.toBe(auditEntryId(['a', '3']));
  });

  it('keeps the place of a missing part', () => {
    expect(auditEntryId(['a', undefined, 'b'])).not.toBe(auditEntryId(['a', 'b']));
    expect(auditEntryId(['a', undefined, 'b'])).not.toBe(auditEntryId(['a', 'b', undefined]));
  });
});
