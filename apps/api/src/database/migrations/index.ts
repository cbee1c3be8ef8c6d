import { InitialSchema1732700000000 } from './1732700000000-initial-schema.js';
import { MemberListIndexes1732700000001 } from './1732700000001-member-list-indexes.js';
import { SingleSignOn1732700000002 } from './1732700000002-single-sign-on.js';
import { MemberSearchIndexes1732700000003 } from './1732700000003-member-search-indexes.js';
import { MemberByPerson1732700000004 } from './1732700000004-member-by-person.js';
import { SeatUsageIndex1732700000005 } from './1732700000005-seat-usage-index.js';
import { MailboxProofs1732700000006 } from './1732700000006-mailbox-proofs.js';
import { MailOutbox1732700000007 } from './1732700000007-mail-outbox.js';
import { ActorKinds1732700000008 } from './1732700000008-actor-kinds.js';
import { Scim1732700000009 } from './1732700000009-scim.js';
import { ServiceAccounts1732700000010 } from './1732700000010-service-accounts.js';
import { Webhooks1732700000011 } from './1732700000011-webhooks.js';
import { MemberSearchAnywhere1732700000012 } from './1732700000012-member-search-anywhere.js';
import { MembersRoomForHotUpdates1732700000013 } from './1732700000013-members-room-for-hot-updates.js';

/** Every migration, oldest first; run at start-up on SQLite and PostgreSQL alike. */
export const MIGRATIONS = [InitialSchema1732700000000, MemberListIndexes1732700000001, SingleSignOn1732700000002, MemberSearchIndexes1732700000003, MemberByPerson1732700000004, SeatUsageIndex1732700000005, MailboxProofs1732700000006, MailOutbox1732700000007, ActorKinds1732700000008, Scim1732700000009, ServiceAccounts1732700000010, Webhooks1732700000011, MemberSearchAnywhere1732700000012, MembersRoomForHotUpdates1732700000013];
