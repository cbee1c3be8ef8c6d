export * from './permissions.js';
export * from './errors.js';
export * from './schemas.js';
export * from './dto.js';
export * from './events.js';
export * from './activity.js';
export * from './audit-streaming.js';
export * from './service-accounts.js';
