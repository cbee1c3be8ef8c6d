import type { LevelWithSilent } from 'pino';

/** Logs and metrics settings (README, "Logs and metrics"). */
export interface ObservabilityConfig {
  /** `LOG_LEVEL`: trace, debug, info (default), warn, error, fatal or silent. */
  readonly logLevel: LevelWithSilent;
  /** `LOG_FORMAT`: `json` (one object per line) or `pretty`; default pretty only when `NODE_ENV=development`. */
  readonly logFormat: 'json' | 'pretty';
  /** `LOG_REQUESTS=false` drops the line per answered request (on by default). */
  readonly logRequests: boolean;
  /** `METRICS_TOKEN`: when set, `GET /metrics` needs `Authorization: Bearer <token>`; unset, it answers loopback only. */
  readonly metricsToken: string | null;
}

const LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function observabilityConfig(env: NodeJS.ProcessEnv): ObservabilityConfig {
  const logLevel = (env['LOG_LEVEL'] || 'info').toLowerCase() as LevelWithSilent;
  if (!LEVELS.includes(logLevel)) throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(', ')}, got "${env['LOG_LEVEL']}"`);
  const format = env['LOG_FORMAT'] || (env['NODE_ENV'] === 'development' ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty') throw new Error(`LOG_FORMAT must be json or pretty, got "${format}"`);
  const metricsToken = env['METRICS_TOKEN'] || null;
  if (metricsToken !== null && metricsToken.length < 16) throw new Error('METRICS_TOKEN must be at least 16 characters (e.g. `openssl rand -hex 32`)');
  return { logLevel, logFormat: format, logRequests: env['LOG_REQUESTS'] !== 'false', metricsToken };
}
