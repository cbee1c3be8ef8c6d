/** Says once, up front, which database the API suite runs on. */
export default function setup(): void {
  if (process.env['DATABASE_URL']) {
    console.log(`[api suite] PostgreSQL: each test file gets a fresh database on ${new URL(process.env['DATABASE_URL']).host}`);
  } else {
    console.log('[api suite] DATABASE_URL is not set: running on SQLite only; the PostgreSQL run is skipped (.ci/run makes it).');
  }
}
