import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { installGracefulShutdown } from './graceful-shutdown.js';
import { dataDirProblem, loadConfig } from './config.js';

const config = loadConfig();
// DATA_DIR must be a directory we can write to: say what is wrong in one line and stop (exit 78, EX_CONFIG).
const dataDirRefusal = dataDirProblem(config.dataDir, { createIfMissing: !process.env['DATA_DIR'] });
if (dataDirRefusal) {
  console.error(dataDirRefusal);
  process.exit(78);
}
const app = await createApp(config);
await app.listen(config.port);
installGracefulShutdown(app);
new Logger('Rolecall').log(
  `Listening on ${config.publicUrl} (database: ${config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`})`,
);
