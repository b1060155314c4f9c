import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NelError } from '../../common/errors.js';
import { parseYaml } from '../../common/yaml.js';
import { packagedConfigDir } from '../../config/compose.js';
import { readSlurmSettings, walltimeSeconds } from './config.js';

/** The packaged default with the required values filled in (as after interpolation). */
function packaged(over: Record<string, unknown> = {}): Record<string, unknown> {
  const text = readFileSync(join(packagedConfigDir(), 'execution', 'slurm', 'default.yaml'), 'utf8');
  const d = parseYaml(text) as Record<string, unknown>;
  return {
    ...d,
    hostname: 'login.example',
    username: 'alice',
    account: 'acct',
    output_dir: '/lustre/alice/results',
    deployment: { n_tasks: 1 },
    ...over,
  };
}

/** The one-line message of the NelError `fn` throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof NelError, `not a NelError: ${String(e)}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.ok(e.hint, 'with a hint');
    return e.message;
  }
  assert.fail('no error');
}

test('the packaged default has upstream keys and defaults', () => {
  const text = readFileSync(join(packagedConfigDir(), 'execution', 'slurm', 'default.yaml'), 'utf8');
  const d = parseYaml(text) as Record<string, any>;
  assert.equal(d.type, 'slurm');
  for (const k of ['hostname', 'account', 'output_dir']) assert.equal(d[k], '???', k);
  assert.equal(d.username, '${oc.env:USER}');
  assert.equal(d.partition, 'batch');
  assert.equal(d.cpu_partition, null);
  assert.equal(d.num_nodes, 1);
  assert.equal(d.num_instances, 1);
  assert.equal(d.ntasks_per_node, 1);
  assert.equal(d.gres, 'gpu:8');
  assert.equal(d.walltime, '01:00:00');
  assert.equal(d.max_walltime, '120:00:00');
  assert.equal(d.subproject, 'nemo-evaluator-launcher');
  assert.equal(d.sbatch_comment, null);
  assert.deepEqual(d.sbatch_extra_flags, { exclusive: true });
  assert.equal(d.deployment.n_tasks, '${execution.num_nodes}');
  assert.deepEqual(d.mounts, { deployment: {}, evaluation: {}, auxiliary: {}, mount_home: true });
  assert.deepEqual(d.proxy, {
    type: 'haproxy',
    image: 'haproxy:latest',
    config: { haproxy_port: 5009, health_check_path: '/health', health_check_status: 200 },
  });
  assert.equal(d.container_runtime, 'pyxis');
  assert.ok(!('env_vars' in d), 'execution.env_vars is refused since upstream v0.2.5');
});

test('the defaults read into typed settings', () => {
  const s = readSlurmSettings(packaged());
  assert.equal(s.walltimeSeconds, 3600);
  assert.equal(s.readinessTimeoutSec, 3600, 'no endpoint_readiness_timeout: the walltime');
  assert.equal(s.maxWalltime, '120:00:00');
  assert.deepEqual(s.sbatchExtraFlags, [{ name: 'exclusive', value: null }]);
  assert.equal(s.containerRuntime, 'pyxis');
  assert.equal(s.deploymentTasksPerInstance, 1);
  assert.equal(s.proxy.port, 5009);
  assert.equal(s.mounts.mountHome, true);
  assert.equal(readSlurmSettings(packaged({ endpoint_readiness_timeout: 90 })).readinessTimeoutSec, 90);
  assert.equal(readSlurmSettings(packaged({ max_walltime: null })).maxWalltime, null);
  assert.equal(readSlurmSettings(packaged(), { noDocker: true }).containerRuntime, 'none');
});

test('required keys: hostname, account, output_dir', () => {
  for (const k of ['hostname', 'account', 'output_dir']) {
    assert.equal(
      errorOf(() => readSlurmSettings(packaged({ [k]: undefined }))),
      `execution.${k} must be set`,
    );
    assert.equal(
      errorOf(() => readSlurmSettings(packaged({ [k]: '' }))),
      `execution.${k} must be set`,
    );
  }
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ account: 3 }))),
    /^execution\.account must be a string, got 3$/,
  );
});

test('output_dir must be absolute, and mountable by the runtime', () => {
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ output_dir: 'results' }))),
    /^execution\.output_dir must be an absolute path on the cluster, got 'results'$/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ output_dir: '/a,b' }))),
    /contains ',', which pyxis cannot mount/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ output_dir: '/a:b', container_runtime: 'docker' }))),
    /contains ':', which docker cannot mount/,
  );
  assert.equal(
    readSlurmSettings(packaged({ output_dir: '/a:b', container_runtime: 'none' })).outputDir,
    '/a:b',
  );
  assert.equal(readSlurmSettings(packaged({ output_dir: '/with space/x/' })).outputDir, '/with space/x');
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ output_dir: '/a\nb' }))),
    /control character/,
  );
});

test('walltime: HH:MM:SS or D-HH:MM:SS', () => {
  assert.equal(walltimeSeconds('01:00:00'), 3600);
  assert.equal(walltimeSeconds('120:00:00'), 432000);
  assert.equal(walltimeSeconds('2-03:04:05'), 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
  for (const bad of ['1h', '01:00', '00:61:00', '1-2', '01:00:00 ', ''])
    assert.equal(walltimeSeconds(bad), null, bad);
  assert.equal(readSlurmSettings(packaged({ walltime: '1-00:30:00' })).walltimeSeconds, 88200);
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ walltime: '90 minutes' }))),
    /^execution\.walltime must be HH:MM:SS or D-HH:MM:SS, got '90 minutes'$/,
  );
  // YAML 1.1 readers turn unquoted 120:00:00 into a number: that is refused, with the fix
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ max_walltime: 432000 }))),
    /got 432000/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ walltime: '00:00:00' }))),
    /walltime must be/,
  );
});

test('node and task counts', () => {
  for (const k of ['num_nodes', 'num_instances', 'ntasks_per_node']) {
    for (const bad of [0, -1, 1.5, '2']) {
      assert.match(
        errorOf(() => readSlurmSettings(packaged({ [k]: bad }))),
        new RegExp(`^execution\\.${k} must be a positive whole number, got `),
        `${k}=${String(bad)}`,
      );
    }
  }
  assert.match(
    errorOf(() =>
      readSlurmSettings(packaged({ num_nodes: 3, num_instances: 2, deployment: { n_tasks: 2 } })),
    ),
    /^execution\.num_nodes \(3\) must be divisible by execution\.num_instances \(2\)$/,
  );
  const s = readSlurmSettings(packaged({ num_nodes: 4, num_instances: 2, deployment: { n_tasks: 8 } }));
  assert.equal(s.deploymentTasksPerInstance, 4);
  assert.match(
    errorOf(() =>
      readSlurmSettings(packaged({ num_nodes: 4, num_instances: 2, deployment: { n_tasks: 3 } })),
    ),
    /^execution\.deployment\.n_tasks \(3\) must be divisible/,
  );
});

test('sbatch_extra_flags: a map of scalars; true is a bare flag, false and null are left out', () => {
  const s = readSlurmSettings(
    packaged({
      sbatch_extra_flags: { exclusive: true, constraint: 'h100', switches: 1, requeue: false, qos: null },
    }),
  );
  assert.deepEqual(s.sbatchExtraFlags, [
    { name: 'exclusive', value: null },
    { name: 'constraint', value: 'h100' },
    { name: 'switches', value: '1' },
  ]);
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ sbatch_extra_flags: ['exclusive'] }))),
    /must be a map/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ sbatch_extra_flags: { constraint: { a: 1 } } }))),
    /^execution\.sbatch_extra_flags\.constraint must be a string, number, true, false or null/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ sbatch_extra_flags: { 'bad flag': 1 } }))),
    /is not an sbatch option name/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ sbatch_extra_flags: { comment: 'a\nb' } }))),
    /sbatch_extra_flags\.comment contains a control character/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ sbatch_comment: 'a\\b' }))),
    /contains a backslash/,
  );
});

test('other keys: runtime, proxy, mounts, timeouts', () => {
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ container_runtime: 'singularity' }))),
    /^execution\.container_runtime must be one of pyxis, docker, none, got 'singularity'$/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ proxy: { type: 'nginx' } }))),
    /proxy\.type must be haproxy/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ proxy: { config: { haproxy_port: 70000 } } }))),
    /haproxy_port must be a port number/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ endpoint_readiness_timeout: '10' }))),
    /endpoint_readiness_timeout must be a positive whole number of seconds or null/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ mounts: { evaluation: { '/x': 3 } } }))),
    /mounts\.evaluation\./,
  );
  assert.match(
    errorOf(() =>
      readSlurmSettings(packaged({ container_runtime: 'docker', mounts: { evaluation: { './rel': '/c' } } })),
    ),
    /must be absolute with container_runtime docker/,
  );
  const aux = readSlurmSettings(packaged({ mounts: { auxiliary: { judge: { '/models': '/m' } } } }));
  assert.deepEqual(aux.mounts.auxiliary, { judge: [['/models', '/m']] });
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ type: 'local' }))),
    /^execution\.type must be slurm/,
  );
  assert.match(
    errorOf(() => readSlurmSettings(packaged({ hostname: 'a b' }))),
    /is not a host name/,
  );
  assert.equal(readSlurmSettings(packaged({ evaluation_gpu_visible: true })).evaluationGpuVisible, 'all');
  assert.deepEqual(
    readSlurmSettings(packaged({ auto_export: { destinations: ['mlflow'] } })).autoExportDestinations,
    ['mlflow'],
  );
});
