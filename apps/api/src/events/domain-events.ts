import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/**
 * Typed domain events, published after their transaction commits. Services emit them through
 * `Tx.publish`; the live layer subscribes. Nothing here knows about sockets.
 */
export type DomainEvent =
  | { type: 'account.created'; accountId: string; seq: number }
  /** Account settings, plan, validation, ownership or billing transfer. `memberIds`: members whose effective permissions changed. */
  | { type: 'account.changed'; accountId: string; seq: number; memberIds: string[] }
  /** A member was invited, changed, revoked, reactivated or accepted an invitation. */
  | { type: 'member.changed'; accountId: string; memberId: string; seq: number; permissionsChanged: boolean }
  /** An invitation was cancelled or a revoked member deleted. */
  | { type: 'member.removed'; accountId: string; memberId: string; personId: string | null; seq: number }
  /** A custom role was created or edited; `memberIds`: active holders whose effective permissions changed. */
  | { type: 'role.changed'; accountId: string; roleId: string; seq: number; memberIds: string[] }
  /** A custom role was deleted; its holders moved to another role. */
  | { type: 'role.removed'; accountId: string; roleId: string; seq: number; memberIds: string[]; movedMemberIds: string[] }
  | { type: 'roles.reordered'; accountId: string; roleIds: string[]; seq: number }
  | { type: 'team.changed'; accountId: string; teamId: string; seq: number }
  | { type: 'team.removed'; accountId: string; teamId: string; seq: number }
  | { type: 'session.signed_in'; accountId: string; personId: string; sessionId: string; seq: number }
  | { type: 'sessions.revoked'; accountId: string | null; sessionIds: string[]; reason: string; seq: number | null }
  | { type: 'person.updated'; personId: string; accountIds: string[] };

export type DomainEventType = DomainEvent['type'];
export type DomainEventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;

@Injectable()
export class DomainEventBus {
  private readonly emitter = new EventEmitter({ captureRejections: true });

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  publish(event: DomainEvent): void {
    this.emitter.emit(event.type, event);
    this.emitter.emit('*', event);
  }

  on<T extends DomainEventType>(type: T, listener: (event: DomainEventOf<T>) => void): () => void {
    const wrapped = listener as (event: DomainEvent) => void;
    this.emitter.on(type, wrapped);
    return () => this.emitter.off(type, wrapped);
  }

  onAny(listener: (event: DomainEvent) => void): () => void {
    this.emitter.on('*', listener);
    return () => this.emitter.off('*', listener);
  }
}
