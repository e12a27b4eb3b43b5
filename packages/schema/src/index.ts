export {
  assertCanRead,
  assertFullyCompatible,
  type AvroSchema,
  type ChangeEvent,
  type Document,
  EVENT_ID_HEADER,
  EventCodec,
  fingerprint,
  KEY_SCHEMA,
  type Operation,
  SCHEMA_HEADER,
  valueSchema,
} from './avro.ts';
export { AVRO_DIR, avscFiles, historicSchemas, writeAvscFiles } from './avsc-files.ts';
export {
  type Collection,
  type Declaration,
  type FieldDeclaration,
  fieldColumns,
  findCollection,
  KEY_TYPES,
  type KeyType,
  loadDeclaration,
  parseDeclaration,
  withNamespace,
} from './declaration.ts';
export {
  ARRAY_ITEM_TYPES,
  avroType,
  documentJsonSchema,
  FIELD_TYPES,
  type FieldType,
  jsonSchemaOf,
  pgColumnType,
  Refusal,
  SCALAR_TYPES,
  type ScalarType,
  scalarOf,
  searchMapping,
} from './field-types.ts';
export {
  imageToDocument,
  isValidId,
  MAX_ID_BYTES,
  rowToDocument,
  type ValidationResult,
  validateDocument,
} from './validate.ts';
