import { afterAll, vi } from 'vitest';
import { installProcessGuard } from './process-guard.js';

installProcessGuard();

// The api project's files share a process and its modules (vitest.config.ts, `isolate: false`): a
// spy on a prototype or a shared module left in place would watch the next file's code too.
afterAll(() => {
  vi.restoreAllMocks();
});
