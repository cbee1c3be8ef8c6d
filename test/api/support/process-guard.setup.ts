import { installProcessGuard } from './process-guard.js';

installProcessGuard();
