import { Gauge } from 'prom-client';
import type { RedisLayer } from '../ha/index.ts';
import { BACKUP_LAST_GOOD_KEY } from '../ha/keys.ts';
import { ownCertificates } from '../ha/tls.ts';
import type { Metrics } from './metrics.ts';

export const BACKUP_METRIC = 'backup_last_good_timestamp_seconds';

/**
 * `backup_last_good_timestamp_seconds`: when the last good backup was taken (unix seconds; 0 when
 * none is recorded), read from the key the operator's backup writes (BACKUP_LAST_GOOD_KEY, which
 * the app's user may only read) when the metrics are scraped. An alert compares it with time().
 * When Redis does not answer, the last value read stays.
 */
export function backupAgeGauge(metrics: Metrics, instance: string, layer: Pick<RedisLayer, 'read'>): void {
  let last = 0;
  new Gauge({
    name: BACKUP_METRIC,
    help: 'Unix time of the last good backup (0: none recorded).',
    labelNames: ['instance_id'],
    registers: [metrics.registry],
    async collect() {
      try {
        const v = (await layer.read((r) => r.get(BACKUP_LAST_GOOD_KEY))).value;
        last = v === null ? 0 : Number(v) || 0;
      } catch {
        // Keep the last value read.
      }
      this.set({ instance_id: instance }, last);
    },
  });
}

export const CERTIFICATE_METRIC = 'tls_certificate_expiry_timestamp_seconds';

/**
 * `tls_certificate_expiry_timestamp_seconds{certificate="own"|"ca"}`: when this instance's
 * certificate to Redis and the CA it trusts end (unix seconds), read from the files at each scrape
 * (a rotated certificate shows at once). Nothing without TLS. The alert CertificateExpiresSoon
 * compares it with time().
 */
export function certificateGauge(metrics: Metrics, instance: string): void {
  new Gauge({
    name: CERTIFICATE_METRIC,
    help: "Unix time at which this instance's TLS certificate (own) and the CA it trusts (ca) end.",
    labelNames: ['instance_id', 'certificate'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      try {
        for (const c of ownCertificates())
          this.set({ instance_id: instance, certificate: c.name }, Math.floor(c.end.getTime() / 1000));
      } catch {
        // A file being replaced: the next scrape reads it.
      }
    },
  });
}
