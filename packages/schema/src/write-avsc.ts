// `npm run generate -w @syncline/schema`: regenerate the .avsc files from the declaration.
import { writeAvscFiles } from './avsc-files.ts';
import { loadDeclaration } from './declaration.ts';

const path = process.argv[2] ?? new URL('../../../syncline.collections.json', import.meta.url).pathname;
const written = writeAvscFiles(loadDeclaration(path).collections);
console.log(`wrote ${written.join(', ')}`);
