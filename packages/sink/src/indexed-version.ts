// Reads a document's indexed version through the collection's alias (real-time GET, no refresh
// needed) for ?wait=indexed. Elasticsearch is never in the write path itself.
import type { Client } from '@elastic/elasticsearch';
import type { Collection } from '@syncline/schema';

export interface IndexedVersionReader {
  /** The version of the document in the search index, or null when absent. */
  indexedVersion(collection: Collection, id: string): Promise<number | null>;
}

export class EsIndexedVersionReader implements IndexedVersionReader {
  private readonly es: Client;
  constructor(es: Client) {
    this.es = es;
  }

  async indexedVersion(collection: Collection, id: string): Promise<number | null> {
    const res = await this.es.get({ index: collection.index.alias, id, _source: false }, { ignore: [404] });
    return res.found ? (res._version ?? null) : null;
  }
}
