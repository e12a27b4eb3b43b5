// A mixed write load (PUT, PATCH, DELETE over a fixed id space) through the write API, until stopped.
import type { FastifyInstance } from 'fastify';

export function startWriteLoad(app: FastifyInstance, { writers = 8, ids = 500, pauseMs = 5 } = {}) {
  let running = true;
  let writes = 0;
  let failures = 0;
  const loop = async (w: number) => {
    for (let i = 0; running; i++) {
      const id = `doc-${Math.floor(Math.random() * ids)}`;
      const roll = Math.random();
      const res =
        roll < 0.1
          ? await app.inject({ method: 'DELETE', url: `/v1/collections/products/documents/${id}` })
          : roll < 0.3
            ? await app.inject({
                method: 'PATCH',
                url: `/v1/collections/products/documents/${id}`,
                payload: { price: i, in_stock: i % 2 === 0 },
              })
            : await app.inject({
                method: 'PUT',
                url: `/v1/collections/products/documents/${id}`,
                payload: {
                  name: `writer ${w} write ${i}`,
                  price: i,
                  tags: [`w${w}`],
                  updated_at: new Date().toISOString(),
                },
              });
      if (res.statusCode < 300) writes++;
      else if (res.statusCode !== 404) failures++;
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const done = Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
  return {
    get writes() {
      return writes;
    },
    get failures() {
      return failures;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
