import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { LiveGateway } from './live.gateway.js';
import { REDIS, type RedisConnections } from '../infra/redis-bridge.js';
import { recordRedisError } from '../common/observability/failures.js';
import { liveEventPushed, liveSocketClosed, liveSocketOpened } from '../common/observability/metrics.js';

/**
 * Live-layer metrics, read off the Socket.IO server rather than threaded through the gateway: open
 * sockets (`rolecall_live_sockets`) and every event written to a socket of this node
 * (`rolecall_live_events_pushed_total`), broadcasts from other nodes through Redis included; and
 * the errors of this node's Redis connections (`rolecall_redis_errors_total`).
 */
@Injectable()
export class LiveMetrics implements OnApplicationBootstrap {
  constructor(
    @Inject(LiveGateway) private readonly gateway: LiveGateway,
    @Inject(REDIS) redis: RedisConnections | null,
  ) {
    // Every error of the three connections and every failed publish (the channel's hook for this).
    redis?.channel.onError((_connection, error) => recordRedisError(error));
  }

  onApplicationBootstrap(): void {
    this.gateway.server?.on('connection', (socket) => {
      liveSocketOpened();
      socket.once('disconnect', liveSocketClosed);
      socket.onAnyOutgoing((event: string) => liveEventPushed(event));
    });
  }
}
