import { expect, test } from 'vitest';
import { loadConfig } from '../../apps/api/src/config.js';

test('REDIS_ADAPTER: classic by default, sharded when asked, any other value a clear startup error', () => {
  expect(loadConfig({}).redisAdapter).toBe('classic');
  expect(loadConfig({ REDIS_ADAPTER: 'classic' }).redisAdapter).toBe('classic');
  expect(loadConfig({ REDIS_ADAPTER: 'sharded' }).redisAdapter).toBe('sharded');
  expect(() => loadConfig({ REDIS_ADAPTER: 'Sharded' })).toThrow('REDIS_ADAPTER must be "classic" or "sharded", got "Sharded"');
  expect(() => loadConfig({ REDIS_ADAPTER: 'cluster' })).toThrow(/REDIS_ADAPTER/);
});
