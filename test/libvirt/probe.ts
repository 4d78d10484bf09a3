// Serves the fake driver on a socket and prints every call, to find out what a libvirt client
// sends (docs/libvirt-wire.md was written from its output):
//
//   node --import tsx test/libvirt/probe.ts /tmp/probe.sock &
//   virsh -c 'vman+unix:///system?socket=/tmp/probe.sock' list --all
//
// Each line: client, serial, procedure name and number, the arguments in hex; then the outcome.
import { procedureName } from '../../src/libvirt/procedures.js';
import { startLibvirtServer } from '../../src/libvirt/server.js';
import { FakeDispatcher } from './fake-dispatcher.js';

const path = process.argv[2] ?? '/tmp/vman-probe.sock';
const fake = new FakeDispatcher([
  { name: 'alpha', uuid: '11111111-2222-3333-4444-555555555555', active: true },
  { name: 'beta', uuid: '66666666-7777-8888-9999-aaaaaaaaaaaa' },
]);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const server = await startLibvirtServer({
  listen: path,
  dispatcher: {
    dispatch: async (call, client) => {
      const name = `${procedureName(call.procedure)} (${call.procedure})`;
      const line = `${client.id} #${call.serial} ${name} ${hex(call.body)}`;
      try {
        const body = await fake.dispatch(call, client);
        console.log(`${line} -> ok ${hex(body)}`);
        return body;
      } catch (e) {
        console.log(`${line} -> error ${(e as Error).message}`);
        throw e;
      }
    },
    closed: (client) => fake.closed(client),
  },
  onEvent: (e) => {
    if (e.kind === 'call') {
      console.log(`${e.client} #${e.serial} call ${procedureName(e.procedure)} (${e.procedure}) ${hex(e.body)}`);
      return;
    }
    if (e.kind === 'connected' || e.kind === 'disconnected' || e.kind === 'keepalive-started') {
      console.log(JSON.stringify(e));
    } else console.log(JSON.stringify(e, (_k, v: unknown) => (v instanceof Error ? v.stack : v)));
  },
});
console.log(`listening on ${path}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
