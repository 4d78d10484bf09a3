// `vman start NAME`: `spec.state: running` in the partition's manifest, then that partition reconciled.
import type { Command } from '../run.js';
import { setStateCommand } from '../set-state.js';

const start: Command<'start'> = (inv, io) => setStateCommand(inv.positionals[0] ?? '', 'running', inv.flags, io);

export default start;
