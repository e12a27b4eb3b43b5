export { type ChangeEvent, type Document, EVENT_ID_HEADER, EventCodec, SCHEMA_HEADER } from './avro.ts';
export { AVRO_DIR, historicSchemas } from './avsc-files.ts';
export {
  type Collection,
  type Declaration,
  type FieldDeclaration,
  fieldColumns,
  findCollection,
  isJoined,
  type JoinNode,
  joinNodes,
  KEY_TYPES,
  type KeyType,
  loadDeclaration,
  parseDeclaration,
  type Relation,
  withNamespace,
} from './declaration.ts';
export { documentJsonSchema, pgColumnType, searchProperties } from './field-types.ts';
export { imageToDocument, isValidId, MAX_ID_BYTES, rowToDocument, validateDocument } from './validate.ts';
