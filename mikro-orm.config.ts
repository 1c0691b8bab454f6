import { loadConfig } from './src/config.js';
import { driverFor, ormOptions } from './src/db/orm.js';

const { database } = loadConfig();

/** For `npx mikro-orm` tooling (migration:create etc.); the app itself calls ormOptions directly. */
export default { ...ormOptions(database), driver: await driverFor(database.kind) };
