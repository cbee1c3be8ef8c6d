import { Injectable } from '@nestjs/common';

/**
 * Where the process is in its life: serving, or shutting down after SIGTERM. Readiness and
 * liveness answer 503 from the moment shutdown begins, so a load balancer stops routing here
 * while in-flight requests finish (see src/graceful-shutdown.ts).
 */
@Injectable()
export class Lifecycle {
  private shutdownSince: number | null = null;

  get shuttingDown(): boolean {
    return this.shutdownSince !== null;
  }

  beginShutdown(): void {
    this.shutdownSince ??= Date.now();
  }
}
