import { retryableOnce } from '../../../shared/adapters/storage/retryableOnce';

/** "Create the table on first use", and again when it was deleted after start-up. */
describe('retryableOnce', () => {
  it('runs the work once for every caller', async () => {
    let runs = 0;
    const ensure = retryableOnce(async () => {
      runs += 1;
    });

    await Promise.all([ensure(), ensure()]);
    await ensure();

    expect(runs).toBe(1);
  });

  it('tries again on the next call after a failure', async () => {
    let runs = 0;
    const ensure = retryableOnce(async () => {
      runs += 1;
      if (runs === 1) throw new Error('storage unavailable');
    });

    await expect(ensure()).rejects.toThrow('storage unavailable');
    await ensure();
    await ensure();

    expect(runs).toBe(2);
  });

  it('runs the work again when asked, once for the callers who ask at the same moment', async () => {
    let runs = 0;
    const ensure = retryableOnce(async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    await ensure();

    await Promise.all([ensure.again(), ensure.again(), ensure.again()]);
    expect(runs).toBe(2);

    await ensure.again();
    expect(runs).toBe(3);
    await ensure();
    expect(runs).toBe(3);
  });
});
