// Depth-first traversal without recursion, shared by the encoder, the DTS printer and the helpers.
import { FdtError } from './errors.js';
import { MAX_DEPTH } from './format.js';
import type { FdtNode } from './types.js';

/** The path of the last node in `chain` (root first): `/`, `/cpus/cpu@0`. */
export function pathOf(chain: readonly FdtNode[]): string {
  if (chain.length <= 1) return '/';
  let path = '';
  for (let i = 1; i < chain.length; i++) path += `/${chain[i]!.name}`;
  return path;
}

/**
 * Visits every node in document order: `enter` before its children, `leave` after them.
 * `chain` is the node with its ancestors, root first (reused: copy it to keep it). Nesting
 * deeper than MAX_DEPTH, as a node that contains itself would, is an FdtError.
 */
export function walk(
  root: FdtNode,
  enter: (node: FdtNode, chain: readonly FdtNode[]) => void,
  leave?: (node: FdtNode, chain: readonly FdtNode[]) => void,
): void {
  const chain: FdtNode[] = [root];
  const nextChild: number[] = [0];
  enter(root, chain);
  while (chain.length > 0) {
    const top = chain.length - 1;
    const node = chain[top]!;
    const i = nextChild[top]!;
    if (i < node.children.length) {
      nextChild[top] = i + 1;
      const child = node.children[i]!;
      if (chain.length >= MAX_DEPTH) {
        const shown = pathOf(chain.slice(0, 8));
        throw new FdtError(
          'unencodable',
          `Cannot encode node under "${shown}/…": ` +
            `nodes nest deeper than ${MAX_DEPTH} levels (does a node contain itself?)`,
        );
      }
      chain.push(child);
      nextChild.push(0);
      enter(child, chain);
    } else {
      leave?.(node, chain);
      chain.pop();
      nextChild.pop();
    }
  }
}

/** The tree in document order for one-loop passes: each node, then `null` where it ends. */
export interface Flat {
  readonly order: (FdtNode | null)[];
  /** How many properties the tree holds. */
  readonly props: number;
}

/** Flattens the tree (see Flat); the same depth limit as walk. */
export function flatten(root: FdtNode): Flat {
  const order: (FdtNode | null)[] = [];
  let props = 0;
  walk(
    root,
    (n) => {
      order.push(n);
      props += n.props.length;
    },
    () => {
      order.push(null);
    },
  );
  return { order, props };
}

/** The path of `target` in the tree under `root`, for messages. */
export function pathIn(root: FdtNode, target: FdtNode): string {
  let found = '/';
  walk(root, (n, chain) => {
    if (n === target) found = pathOf(chain);
  });
  return found;
}
