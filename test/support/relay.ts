/**
 * A TCP relay standing between the code under test and a real server (a database, an
 * authorization server), so a test can cut the server off, make it silent or slow, and
 * bring it back, without disturbing the server itself or other tests.
 */
import net from 'node:net';

export class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** The relay's own port: 0 until the first start, then kept across restarts. */
  port = 0;
  /** When true, bytes are swallowed: connections open but nothing ever answers. */
  blackhole = false;
  /** When above 0, the server's bytes reach the client this many milliseconds late. */
  answerDelayMs = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.on('data', (chunk) => this.blackhole || upstream.write(chunk));
      client.on('close', () => upstream.destroy());
      // What the server says, and its hanging up, reach the client as the mode allows.
      upstream.on('data', (chunk) => this.towardClient(() => client.write(chunk)));
      upstream.on('close', () => this.towardClient(() => client.destroy()));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }

  /** The server "goes away": open connections drop and new ones are refused. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private towardClient(deliver: () => void): void {
    if (this.blackhole) return;
    if (this.answerDelayMs <= 0) deliver();
    // unref: a held answer never keeps the test process alive by itself.
    else setTimeout(deliver, this.answerDelayMs).unref();
  }
}
