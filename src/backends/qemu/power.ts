// What QEMU says about a machine, in SPEC's power states. Pure.
import type { Arch } from '../../board/model.js';
import type { PowerState } from '../types.js';

/**
 * A QMP `query-status` status (qapi/run-state.json RunState) as a power state. `prelaunch` is a machine
 * loaded under -S whose cores were never released; `paused` is `stopped` when vman's stop-cores paused it.
 * `shutdown` is a power-off only when the guest asked for one (`offRequested`, see shutdownRequested):
 * QEMU runs with -no-reboot, so a guest that resets itself (a kernel panic with `panic=N`, or a reboot)
 * also ends in `shutdown`, and that is a crash: a partition cannot be reset in place, since its memory
 * no longer holds what was loaded, and its OS wants to run again.
 */
export function powerFromStatus(status: string, stoppedByVman: boolean, offRequested = true): PowerState {
  switch (status) {
    case 'running':
      return 'running';
    case 'prelaunch':
      return 'stopped';
    case 'shutdown':
      return offRequested ? 'shutdown' : 'crashed';
    case 'internal-error':
    case 'guest-panicked':
    case 'io-error':
    case 'watchdog':
      return 'crashed';
    default:
      // paused, suspended, debug, and the migration states: the cores do not run.
      return stoppedByVman ? 'stopped' : 'paused';
  }
}

/**
 * A partition whose QEMU process ended by itself. A RISC-V guest's SBI system reset powers the machine
 * off through QEMU's sifive_test device, which exits QEMU with status 0 (-no-shutdown has no effect
 * there); on ARM -no-shutdown keeps QEMU alive after a guest power-off, so any end is a crash.
 */
export function powerFromExit(arch: Arch, status: number | undefined): PowerState {
  return arch === 'riscv64' && status === 0 ? 'shutdown' : 'crashed';
}

/** The trace event QEMU logs (on its stderr, qemu.log) when anything asks it to power off (-trace). */
export const SHUTDOWN_TRACE = 'qemu_system_shutdown_request';

/**
 * Whether QEMU's log says that the machine was asked to power off: a guest's PSCI SYSTEM_OFF, a host's
 * request. A guest's reset turned into a shutdown by -no-reboot is not logged there (QEMU 7.2
 * softmmu/runstate.c: qemu_system_reset_request sets the request without that trace).
 */
export function shutdownRequested(log: string): boolean {
  // The log backend's line, optionally after `PID@SECONDS:` (-msg timestamp=on).
  return /(^|[\s:])qemu_system_shutdown_request reason=\d+/m.test(log);
}

/** PSCI return codes (Arm DEN 0022, "Return error codes"), for the release stub's CPU_ON result. */
const PSCI_ERRORS: Readonly<Record<number, string>> = {
  [-1]: 'NOT_SUPPORTED',
  [-2]: 'INVALID_PARAMETERS',
  [-3]: 'DENIED',
  [-4]: 'ALREADY_ON',
  [-5]: 'ON_PENDING',
  [-6]: 'INTERNAL_FAILURE',
  [-7]: 'NOT_PRESENT',
  [-8]: 'DISABLED',
  [-9]: 'INVALID_ADDRESS',
};

/** A PSCI return code as text, e.g. "-4 (ALREADY_ON)". */
export function psciCode(code: number): string {
  const name = PSCI_ERRORS[code];
  return name ? `${code} (${name})` : String(code);
}
