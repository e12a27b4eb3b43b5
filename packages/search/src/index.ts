export {
  checkSearch,
  createSearchEngine,
  type SearchConfig,
  type SearchConnection,
  searchConnection,
  searchFromConfig,
  searchSettingError,
  searchUnavailable,
} from './client.ts';
export type { BulkItemResult, IndexBody, SearchEngine, SearchEngineName, SearchHit } from './port.ts';
export { SearchRequestError } from './port.ts';
