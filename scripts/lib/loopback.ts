/** Loopback addresses for scripts that need an endpoint known to be dead. */
import { refusedPort } from '../../test/fixtures/rpc/server.ts';

/** An http URL on 127.0.0.1 where nothing listens: every connection is refused. */
export async function refusedUrl(): Promise<string> {
  return `http://127.0.0.1:${await refusedPort()}/`;
}
