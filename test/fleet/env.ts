// A real Kubernetes control plane for fleet tests: etcd and a kube-apiserver on loopback, started by
// scripts/fleet-env in a fresh temporary directory, with the Partition CRD applied and one namespace,
// token and kubeconfig per device (deploy/device.yaml).
//
//   const why = fleetAvailable();
//   if (why) return skip(`fleet: ${why}`);
//   const fleet = await startFleet(['edge1', 'edge2']);
//   try {
//     const r = await fleet.kubectl(['get', 'partitions'], { as: 'edge1' });
//   } finally {
//     await fleet.close();
//   }
//
// A fleet left open when the process exits (a failed assertion before close()) is stopped then.
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** scripts/fleet-env: builds the API server, starts and stops the control plane. */
export const FLEET_ENV = join(ROOT, 'scripts', 'fleet-env');
/** Where `scripts/fleet-env build` puts kube-apiserver (VMAN_FLEET_CACHE overrides the cache, as there). */
export const APISERVER = join(process.env.VMAN_FLEET_CACHE ?? join(ROOT, '.cache', 'fleet'), 'bin', 'kube-apiserver');

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  /** Run as this device (its kubeconfig: its token, its namespace); the cluster admin otherwise. */
  readonly as?: string;
  /** Written to kubectl's stdin (for `-f -`). */
  readonly input?: string;
}

export interface Fleet {
  /** The fleet's directory: kubeconfigs, logs, etcd's data; removed by close(). */
  readonly dir: string;
  readonly devices: readonly string[];
  /** The API server's URL, https://127.0.0.1:PORT. */
  readonly server: string;
  readonly adminKubeconfig: string;
  /** DEVICE's kubeconfig: user vman-device:DEVICE, context namespace vman-DEVICE. */
  kubeconfig(device: string): string;
  /** DEVICE's namespace, vman-DEVICE. */
  namespace(device: string): string;
  /** Runs kubectl against the fleet, as the admin or as a device; never rejects on a non-zero exit. */
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Stops the API server alone (etcd and everything stored stay). */
  stopApiServer(): Promise<void>;
  /** Starts it again on the same port with the same certificate and tokens; resolves once it is ready. */
  startApiServer(): Promise<void>;
  /** Stops everything and removes the directory. */
  close(): Promise<void>;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && executable(join(d, name)));
}

/** Why a fleet cannot start here (with how to fix it), or undefined when it can. */
export function fleetAvailable(): string | undefined {
  if (!executable(APISERVER)) return `no kube-apiserver at ${APISERVER}; run: scripts/fleet-env build`;
  const missing = [
    ['etcd', 'etcd-server'],
    ['kubectl', 'kubernetes-client'],
    ['openssl', 'openssl'],
    ['curl', 'curl'],
  ].filter(([tool]) => !onPath(tool!));
  if (missing.length > 0) {
    const tools = missing.map(([t]) => t).join(', ');
    return `${tools} not found; install: apt-get install -y ${missing.map(([, p]) => p).join(' ')}`;
  }
  return undefined;
}

// Runs FILE ARGS; resolves with its exit code and output, whatever the code.
function run(file: string, args: readonly string[], input?: string, timeout = 120_000): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr: stderr || (error && typeof error.code !== 'number' ? error.message : '') });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

// Runs scripts/fleet-env ARGS; rejects with its output when it fails.
async function fleetEnv(args: readonly string[]): Promise<string> {
  const r = await run('bash', [FLEET_ENV, ...args], undefined, 300_000);
  if (r.code !== 0) throw new Error(`scripts/fleet-env ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
  return r.stdout;
}

// Fleets not closed yet: stopped synchronously when the process exits.
const open = new Set<string>();
process.on('exit', () => {
  for (const dir of open) {
    try {
      execFileSync('bash', [FLEET_ENV, 'stop', dir], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // the process is ending: nothing else to do
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts etcd and the API server for DEVICES in a fresh temporary directory (about 5 s). */
export async function startFleet(devices: readonly string[]): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'vman-fleet-'));
  open.add(dir);
  try {
    await fleetEnv(['start', dir, ...devices]);
  } catch (e) {
    await close();
    throw e;
  }
  // DIR/env is shell variables; SERVER= is the API server's URL.
  const server = /^SERVER=(\S+)$/m.exec(readFileSync(join(dir, 'env'), 'utf8'))?.[1] ?? '';
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  const kubeconfig = (device: string) => {
    if (!devices.includes(device)) throw new Error(`no device ${device} in this fleet (${devices.join(', ')})`);
    return join(dir, `${device}.kubeconfig`);
  };
  async function close(): Promise<void> {
    if (!open.has(dir)) return;
    try {
      await fleetEnv(['stop', dir]);
    } finally {
      open.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    dir,
    devices,
    server,
    adminKubeconfig,
    kubeconfig,
    namespace: (device) => `vman-${device}`,
    kubectl: (args, opts = {}) =>
      run('kubectl', ['--kubeconfig', opts.as ? kubeconfig(opts.as) : adminKubeconfig, ...args], opts.input),
    stopApiServer: async () => void (await fleetEnv(['apiserver-stop', dir])),
    startApiServer: async () => void (await fleetEnv(['apiserver-start', dir])),
    close,
  };
}
