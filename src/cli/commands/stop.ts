// `vman stop NAME`: `spec.state: stopped` in the partition's manifest, then that partition reconciled.
import type { Command } from '../run.js';
import { setStateCommand } from '../set-state.js';

const stop: Command<'stop'> = (inv, io) => setStateCommand(inv.positionals[0] ?? '', 'stopped', inv.flags, io);

export default stop;
