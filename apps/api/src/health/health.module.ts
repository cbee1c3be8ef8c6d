import type { DynamicModule, Provider } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Lifecycle } from './lifecycle.js';
import { DatabaseProbe, ProcessProbe, ReadinessLog, RedisProbe } from './probes.js';

/**
 * Health (liveness, readiness) and the shutdown state, registered in the root module: the probes
 * need the root module's Database, Redis connections and config, which it does not export.
 * Terminus logs nothing itself; ReadinessLog writes one line per change instead of one per probe.
 */
export const HEALTH_IMPORTS: DynamicModule[] = [TerminusModule.forRoot({ logger: false })];
export const HEALTH_PROVIDERS: Provider[] = [Lifecycle, DatabaseProbe, RedisProbe, ProcessProbe, ReadinessLog];
