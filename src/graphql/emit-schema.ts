import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createSchema, schemaSdl } from './schema.js';

/** `npm run schema`: regenerates schema/schema.graphql from the resolvers. */
const target = fileURLToPath(new URL('../../../schema/schema.graphql', import.meta.url));
writeFileSync(target, schemaSdl(await createSchema()));
console.log(`wrote ${target}`);
