import type { Command } from 'commander';
import { detailText, PulseloopError } from '../errors/registry.js';
import { contactJoinIds } from '../govern/pii/crypto.js';
import { loadPiiKeyring } from '../govern/pii/keys.js';
import {
  type IdentityLogEntry,
  identityConflicts,
  lookupSpellings,
  personIdentity,
} from '../identity/inspect.js';
import { chooseProject, openStores, printTable } from './context.js';
import { integer, say } from './lang.js';

/** UTC milliseconds as `2026-11-20 08:05:00` (UTC), the way the other tables show times. */
function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function kindName(kind: IdentityLogEntry['kind']): string {
  return kind === 'conflict' ? say('conflict', '冲突') : say('merge', '合并');
}

function conflictCount(n: number): string {
  return `${integer.format(n)} conflict${n === 1 ? '' : 's'}`;
}

const PROJECT_OPTION = [
  '--project <id>',
  say('project id or name (default: the only project)', '项目 ID 或名称（默认：唯一的项目）'),
] as const;

export function registerIdentityCommand(program: Command): void {
  const identity = program
    .command('identity')
    .description(
      say(
        'Look at the identity graph: one person’s ids and merges, and conflicts between known users.',
        '查看身份图谱：某人的全部标识与合并记录，以及已知用户之间的冲突。',
      ),
    );

  identity
    .command('show <id>')
    .description(
      say(
        'Show the person an id belongs to (anonymous id, user id, openid, unionid, phone number, e-mail or person id): every id it has now, and the merges and conflicts that shaped it.',
        '显示某个标识（匿名 ID、用户 ID、openid、unionid、手机号、邮箱或人员 ID）所属的人员：其当前的全部标识，以及形成它的合并与冲突。',
      ),
    )
    .option(...PROJECT_OPTION)
    .action(async (id: string, options: { project?: string }) => {
      const stores = await openStores();
      try {
        const project = await chooseProject(stores.metadata, options.project);
        // A phone number or e-mail is looked up by the join ids ingestion makes of it (the server's key ring).
        const ring = loadPiiKeyring({ dataDir: stores.config.dataDir, envValue: stores.config.piiKeys });
        const spellings = lookupSpellings(id, contactJoinIds(ring));
        const person = await personIdentity(stores.facts, project.id, id, spellings);
        if (!person)
          throw new PulseloopError('person_not_found', { id: id.slice(0, 80), projectId: project.id });
        process.stdout.write(say(`person ${person.personId}\n`, `人员 ${person.personId}\n`));
        if (person.matched) {
          process.stdout.write(
            say(`(found through ${person.matched})\n`, `（通过 ${person.matched} 找到）\n`),
          );
        }
        if (person.mergedFrom) {
          process.stdout.write(
            say(
              `(${person.mergedFrom} was merged into this person)\n`,
              `（${person.mergedFrom} 已并入此人员）\n`,
            ),
          );
        }
        process.stdout.write('\n');
        printTable(person.ids.map((i) => ({ id: i.id, type: i.type, linked_at: utc(i.linkedAt) })));
        process.stdout.write(
          say(
            `\nmerges and conflicts (${conflictCount(person.conflicts)})\n`,
            `\n合并与冲突（冲突 ${integer.format(person.conflicts)} 条）\n`,
          ),
        );
        printTable(
          person.history.map((h) => ({
            at: utc(h.at),
            kind: kindName(h.kind),
            distinct_id: h.distinctId,
            other_distinct_id: h.otherDistinctId,
            other_person: h.personId === person.personId ? h.otherPersonId : h.personId,
            reason: say(h.reason, h.reasonZh),
            times: h.times,
            now: h.kind === 'conflict' ? conflictNow(h) : '',
          })),
        );
      } finally {
        await stores.close();
      }
    });

  identity
    .command('conflicts')
    .description(
      say(
        'List the conflicts, newest first: two different known users whose ids met (a shared device, a reused account) and were kept apart.',
        '按时间倒序列出冲突：两个不同的已知用户的标识同时出现（共用设备、共用账号）并被保持分开。',
      ),
    )
    .option(...PROJECT_OPTION)
    .option('--limit <n>', say('how many to show (1–500)', '显示条数（1–500）'), '50')
    .action(async (options: { project?: string; limit: string }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        const given = JSON.stringify(options.limit.slice(0, 40));
        throw new PulseloopError(
          'invalid_request',
          detailText(
            `--limit must be a whole number from 1 to 500, got ${given}.`,
            `--limit 必须是 1 到 500 之间的整数，实际为 ${given}。`,
          ),
        );
      }
      const stores = await openStores();
      try {
        const project = await chooseProject(stores.metadata, options.project);
        const page = await identityConflicts(stores.facts, project.id, {
          limit,
          before: Date.now() + 86_400_000,
        });
        printTable(
          page.conflicts.map((c) => ({
            at: utc(c.at),
            distinct_id: c.distinctId,
            other_distinct_id: c.otherDistinctId,
            person: c.personId,
            other_person: c.otherPersonId,
            reason: say(c.reason, c.reasonZh),
            times: c.times,
            now: conflictNow(c),
          })),
        );
        process.stdout.write(
          say(
            `\n${conflictCount(page.total)} in all; \`pulseloop identity show <id>\` shows a person.\n`,
            `\n共 ${integer.format(page.total)} 条冲突；用 \`pulseloop identity show <id>\` 查看某个人员。\n`,
          ),
        );
      } finally {
        await stores.close();
      }
    });
}

/** Where a conflict stands now, in the command's language. */
function conflictNow(entry: IdentityLogEntry): string {
  if (entry.mergedSince) return say('merged since', '已合并');
  if (entry.decision === 'kept_apart') return say('kept apart (decided)', '已确认分开');
  return say('open', '待处理');
}
