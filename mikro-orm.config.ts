import { loadConfig } from './src/config.js';
import { ormOptions } from './src/db/orm.js';

/** For `npx mikro-orm` tooling (migration:create etc.); the app itself calls ormOptions directly. */
export default ormOptions(loadConfig().database);
