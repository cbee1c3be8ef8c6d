import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { loadConfig } from './config.js';

const config = loadConfig();
const app = await createApp(config);
await app.listen(config.port);
new Logger('Rolecall').log(
  `Listening on ${config.publicUrl} (database: ${config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`})`,
);
