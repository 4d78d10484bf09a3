// Gathers the desired state from disk: manifests, the files they name (described for the
// board's architecture), and compiled overlays. Everything wrong becomes a diagnostic.
import type { Board } from '../board/model.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import type { PartitionSpec } from '../manifest/types.js';
import { fieldPosition } from '../manifest/types.js';
import { loadManifests, type ExtraManifest, type ManifestFile } from '../manifest/load.js';
import { CODES } from '../rules/codes.js';
import { checkManifestSet } from '../rules/manifests.js';
import { DigestCache } from '../images/digest.js';
import { inspectFiles, type FileFact } from './files.js';
import { describeImage, describeKernel } from '../boot/image.js';
import type { BootImage, BootProblem, KernelImage } from '../boot/types.js';
import { decodeFdt } from '../fdt/decode.js';
import type { Fdt } from '../fdt/types.js';

/** What a partition boots, described. */
export interface BootFacts {
  readonly kernel?: KernelImage;
  readonly image?: BootImage;
  readonly initrd?: FileFact;
  readonly main: FileFact;
  readonly overlays: readonly { readonly path: string; readonly sha256: string; readonly fdt: Fdt }[];
}

export interface DesiredInputs {
  readonly board: Board;
  /** Every valid partition spec (specs with problems are left out, their problems kept). */
  readonly specs: readonly PartitionSpec[];
  readonly boot: ReadonlyMap<string, BootFacts>;
  readonly manifestFiles: readonly ManifestFile[];
  /** Whether partitions.d/ exists. */
  readonly present: boolean;
  readonly problems: readonly Diagnostic[];
}

export interface LoadOptions {
  readonly configDir: string;
  readonly cwd: string;
  readonly board: Board;
  readonly stateDir?: string;
  readonly imageRoot?: string;
  /** Problems found before (the board's), reported with the rest. */
  readonly problems?: readonly Diagnostic[];
  /** A manifest loaded as if it were in partitions.d/ (see loadManifests). */
  readonly extra?: ExtraManifest;
}

// Describes a kernel or image, reading more of the file when the describer asks for it.
async function describe(
  board: Board,
  spec: PartitionSpec,
  fact: FileFact,
): Promise<KernelImage | BootImage | BootProblem> {
  let head = fact.head;
  for (let round = 0; round < 3; round++) {
    const d =
      spec.boot.kind === 'kernel'
        ? describeKernel(board.arch, head, fact.size)
        : describeImage(board.arch, head, fact.size);
    if (d.kind === 'problem' && d.needBytes !== undefined && d.needBytes > head.length && d.needBytes <= fact.size) {
      head = await fact.read(0, Math.min(fact.size, Math.max(d.needBytes, head.length * 2)));
      continue;
    }
    // A zImage states its decompressed size near its end: read the whole file to learn it exactly.
    if (d.kind === 'kernel' && d.format === 'arm-zimage' && !d.imageSizeKnown && head.length < fact.size) {
      head = await fact.read(0, fact.size);
      continue;
    }
    return d;
  }
  return spec.boot.kind === 'kernel'
    ? describeKernel(board.arch, head, fact.size)
    : describeImage(board.arch, head, fact.size);
}

/** Loads manifests and their files. Never throws for bad input: see `problems`. */
export async function loadDesired(o: LoadOptions): Promise<DesiredInputs> {
  const loaded = await loadManifests(o.configDir, o.cwd, o.extra ? { extra: o.extra } : {});
  const problems: Diagnostic[] = [...(o.problems ?? []), ...loaded.problems];
  problems.push(...checkManifestSet(loaded.partitions, loaded.invalid));
  const cache = await DigestCache.open(o.stateDir);
  const { facts, problems: fileProblems } = await inspectFiles(loaded.partitions, cache, o.imageRoot);
  problems.push(...fileProblems);
  const boot = new Map<string, BootFacts>();
  for (const spec of loaded.partitions) {
    const b = spec.boot;
    const mainPath = b.kind === 'kernel' ? b.kernel : b.image;
    const main = facts.get(mainPath);
    const initrd = b.kind === 'kernel' && b.initrd ? facts.get(b.initrd) : undefined;
    if (!main || (b.kind === 'kernel' && b.initrd && !initrd)) continue;
    const d = await describe(o.board, spec, main);
    const field = b.kind === 'kernel' ? 'spec.boot.kernel' : 'spec.boot.image';
    if (d.kind === 'problem') {
      problems.push({
        code: d.code,
        message: `${b.kind === 'kernel' ? 'kernel' : 'image'} ${mainPath}: ${d.message}`,
        position: fieldPosition(spec, field),
        partition: spec.name,
        ...(d.hint ? { hint: d.hint } : {}),
      });
      continue;
    }
    const overlays: { path: string; sha256: string; fdt: Fdt }[] = [];
    let bad = false;
    b.overlays.forEach((path, i) => {
      const f = facts.get(path);
      if (!f) {
        bad = true;
        return;
      }
      try {
        overlays.push({ path, sha256: f.sha256, fdt: decodeFdt(f.head) });
      } catch (err) {
        bad = true;
        problems.push({
          code: CODES.overlayInvalid,
          message: `overlay ${path} is not a compiled device tree: ${(err as Error).message}`,
          position: fieldPosition(spec, `spec.boot.overlays.${i}`),
          partition: spec.name,
          hint: 'compile it with `dtc -@ -I dts -O dtb -o FILE.dtbo FILE.dts`',
        });
      }
    });
    if (bad) continue;
    const facts_: BootFacts =
      d.kind === 'kernel' ? { kernel: d, main, overlays, ...(initrd ? { initrd } : {}) } : { image: d, main, overlays };
    boot.set(spec.name, facts_);
  }
  return {
    board: o.board,
    specs: loaded.partitions,
    boot,
    manifestFiles: loaded.files,
    present: loaded.present,
    problems,
  };
}
