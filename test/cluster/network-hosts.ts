/**
 * Hosts for multi-host tests, made on this machine: one network namespace per host, each joined by a
 * veth pair to a bridge that lives in a namespace of its own (the "switch"), so every address and
 * every packet stays inside namespaces the test made. Cutting a host off is its link going down, as
 * when a machine's network fails: its processes live on, unreachable.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import os from 'node:os';

export interface VirtualHost {
  name: string;
  /** Its network namespace. */
  namespace: string;
  /** Its address on the test network. */
  address: string;
  /** Starts `command` inside the host's namespace. */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Runs a command inside the host's namespace and returns its stdout. */
  run(command: string, args: string[]): string;
  /** The host's link goes down: nothing reaches it, and it reaches nothing. */
  cutOff(): void;
  reconnect(): void;
}

export interface VirtualNetwork {
  hosts: VirtualHost[];
  /** Removes every namespace and link it made (and with them the processes' network). */
  destroy(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** Says what is missing when this machine cannot make namespaces, instead of failing somewhere inside `ip`. */
export function checkCanMakeHosts(): void {
  if (os.userInfo().uid !== 0) throw new Error('multi-host tests make network namespaces, which needs root; run them as root (CI does).');
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`multi-host tests need iproute2's \`ip netns\` (${(err as Error).message}); install iproute2.`, { cause: err });
  }
}

/**
 * Makes `names.length` hosts on 10.<octet>.0.0/24 (addresses .2, .3, ...). `tag` keeps two runs'
 * names apart (interface names are at most 15 characters).
 */
export function createNetwork(names: string[], options: { tag: string; octet: number }): VirtualNetwork {
  checkCanMakeHosts();
  const { tag, octet } = options;
  const switchNs = `pw-${tag}-sw`;
  const made: string[] = [];
  const destroy = (): void => {
    for (const ns of made.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone.
      }
    }
    made.length = 0;
  };
  try {
    ip('netns', 'add', switchNs);
    made.push(switchNs);
    ip('-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', switchNs, 'link', 'set', 'br0', 'up');
    const hosts = names.map((name, i): VirtualHost => {
      const namespace = `pw-${tag}-${name}`;
      const address = `10.${octet}.0.${i + 2}`;
      const hostEnd = `eth0`;
      const switchEnd = `p-${name}`.slice(0, 15);
      ip('netns', 'add', namespace);
      made.push(namespace);
      // Created in the host's namespace, then one end moved to the switch.
      ip('-n', namespace, 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', switchEnd);
      ip('-n', namespace, 'link', 'set', switchEnd, 'netns', switchNs);
      ip('-n', switchNs, 'link', 'set', switchEnd, 'master', 'br0');
      ip('-n', switchNs, 'link', 'set', switchEnd, 'up');
      ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', hostEnd);
      ip('-n', namespace, 'link', 'set', hostEnd, 'up');
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      return {
        name,
        namespace,
        address,
        spawn: (command, args, spawnOptions = {}) => spawn('ip', ['netns', 'exec', namespace, command, ...args], spawnOptions),
        run: (command, args) => execFileSync('ip', ['netns', 'exec', namespace, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
        cutOff: () => ip('-n', switchNs, 'link', 'set', switchEnd, 'down'),
        reconnect: () => ip('-n', switchNs, 'link', 'set', switchEnd, 'up'),
      };
    });
    return { hosts, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}
