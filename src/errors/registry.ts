/**
 * Every error a person can cause: a stable code, the HTTP status it maps to, and what to tell the
 * person in English and Chinese. `{name}` in a message is filled from the error's details.
 */
export const ERRORS = {
  // configuration and set-up
  invalid_config: { status: 500, en: 'Invalid configuration: {detail}', zh: '配置无效：{detail}' },
  data_dir_in_use: {
    status: 409,
    en: 'The data directory {dir} is in use by process {pid} (a running Pulseloop server?): the embedded store opens in one process at a time. Stop that process first, or give this command another PULSELOOP_DATA.',
    zh: '数据目录 {dir} 正被进程 {pid} 使用（是正在运行的 Pulseloop 服务器吗？）：内置存储同一时间只能由一个进程打开。请先停止该进程，或为此命令另设 PULSELOOP_DATA。',
  },
  data_dir_unusable: {
    status: 500,
    en: 'The data directory {dir} cannot be used ({detail}). Set PULSELOOP_DATA to a directory this user can write.',
    zh: '无法使用数据目录 {dir}（{detail}）。请将 PULSELOOP_DATA 设为当前用户可写的目录。',
  },
  metadata_unreachable: {
    status: 503,
    en: 'Cannot use the metadata database at {url} ({detail}). Check DATABASE_URL and that PostgreSQL is running and accepts this user; without DATABASE_URL, metadata is kept in SQLite in the data directory.',
    zh: '无法使用位于 {url} 的元数据数据库（{detail}）。请检查 DATABASE_URL，并确认 PostgreSQL 正在运行且允许该用户连接；不设 DATABASE_URL 时，元数据保存在数据目录中的 SQLite 里。',
  },
  facts_unreachable: {
    status: 503,
    en: 'Cannot use the ClickHouse server at {url} ({detail}). Check CLICKHOUSE_URL (and CLICKHOUSE_USER, CLICKHOUSE_PASSWORD) and that the server is running; without CLICKHOUSE_URL, facts are kept in the embedded engine in the data directory.',
    zh: '无法使用位于 {url} 的 ClickHouse 服务器（{detail}）。请检查 CLICKHOUSE_URL（以及 CLICKHOUSE_USER、CLICKHOUSE_PASSWORD），并确认服务器正在运行；不设 CLICKHOUSE_URL 时，事实数据保存在数据目录中的内置引擎里。',
  },
  port_unavailable: {
    status: 500,
    en: 'Cannot listen on {address}: {detail}.',
    zh: '无法在 {address} 上监听：{detail}。',
  },
  status_server_elsewhere: {
    status: 409,
    en: 'No Pulseloop server answered at {url}, yet process {pid} holds the data directory {dir}. Set PORT (and HOST) to where that server listens, so that status can ask it.',
    zh: '{url} 上没有 Pulseloop 服务器应答，但进程 {pid} 正占用数据目录 {dir}。请将 PORT（及 HOST）设为该服务器监听的端口（及地址），status 才能向它查询。',
  },
  quarantine_retry_server_running: {
    status: 409,
    en: 'The data directory {dir} is in use by process {pid} (a running Pulseloop server?), which holds the embedded store. Let that server store the rows again: Store again in the dashboard (Events explorer → Quarantine), or POST /api/v1/projects/<project>/quarantine/retry; or stop it and run this command again.',
    zh: '数据目录 {dir} 正被进程 {pid} 使用（是正在运行的 Pulseloop 服务器吗？），内置存储由它打开。请让该服务器重新存入：在控制台（事件浏览 → 隔离区）点击“重新存入”，或调用 POST /api/v1/projects/<project>/quarantine/retry；也可先停止它，再运行此命令。',
  },
  demo_build_failed: {
    status: 500,
    en: 'Building the demo world failed ({detail}); its output above says why. Run `pulseloop demo --no-serve` to retry.',
    zh: '构建演示数据失败（{detail}），原因见上方输出。可运行 `pulseloop demo --no-serve` 重试。',
  },

  // authentication
  missing_write_key: {
    status: 401,
    en: 'No write key: send it as the Basic-auth user name with an empty password, or as "writeKey" in the body.',
    zh: '缺少写入密钥：请将其作为 Basic 认证的用户名（密码留空）发送，或在请求体中提供 "writeKey"。',
  },
  unknown_write_key: {
    status: 401,
    en: 'Unknown or revoked write key. Create one with `pulseloop keys create`.',
    zh: '写入密钥不存在或已被吊销。请使用 `pulseloop keys create` 创建新密钥。',
  },
  rate_limited: {
    status: 429,
    en: 'Too many requests for this write key; retry after {retryAfterSeconds} s.',
    zh: '该写入密钥的请求过多，请在 {retryAfterSeconds} 秒后重试。',
  },
  store_refused_row: {
    status: 500,
    en: "The store refused this {table} row, so it was set aside here instead: {detail} — once the cause is fixed, Store again (in the dashboard's quarantine) or `pulseloop quarantine retry` stores it.",
    zh: '存储拒绝了这一行 {table} 数据，已改存于此：{detail}——问题解决后，点击控制台隔离区中的“重新存入”或运行 `pulseloop quarantine retry` 即可将其存入。',
  },
  overloaded: {
    status: 503,
    en: 'The server cannot store more events right now; retry after {retryAfterSeconds} s. Nothing of this request was kept.',
    zh: '服务器暂时无法存储更多事件，请在 {retryAfterSeconds} 秒后重试。本次请求未保存任何内容。',
  },

  // request bodies
  invalid_json: {
    status: 400,
    en: 'The body is not valid JSON: {detail}',
    zh: '请求体不是有效的 JSON：{detail}',
  },
  body_not_object: {
    status: 400,
    en: 'The body must be a JSON object.',
    zh: '请求体必须是 JSON 对象。',
  },
  request_too_large: {
    status: 400,
    en: 'The request is {size} bytes; the limit is {limit} bytes. Split it into smaller batches.',
    zh: '请求大小：{size} 字节，上限为 {limit} 字节。请拆分为更小的批次。',
  },
  batch_too_many_events: {
    status: 400,
    en: 'The batch holds {count} events; the limit is {limit}. Split it into smaller batches.',
    zh: '该批次包含 {count} 个事件，上限为 {limit} 个。请拆分为更小的批次。',
  },
  batch_not_array: {
    status: 400,
    en: '"batch" must be an array of events.',
    zh: '"batch" 必须是事件数组。',
  },
  unsupported_encoding: {
    status: 400,
    en: 'Content-Encoding "{encoding}" is not supported; send gzip, deflate or an uncompressed body.',
    zh: '不支持的 Content-Encoding "{encoding}"；请发送 gzip、deflate 或未压缩的请求体。',
  },
  corrupt_body: {
    status: 400,
    en: 'The compressed body could not be decompressed: {detail}',
    zh: '压缩的请求体无法解压：{detail}',
  },

  // single events (also the quarantine reasons of events in a batch)
  event_too_large: {
    status: 400,
    en: 'The event is {size} bytes; the limit is {limit} bytes.',
    zh: '该事件大小为 {size} 字节，上限为 {limit} 字节。',
  },
  missing_id: {
    status: 400,
    en: 'The event needs a userId or an anonymousId.',
    zh: '事件必须包含 userId 或 anonymousId。',
  },
  invalid_field: {
    status: 400,
    en: 'Field "{field}" is invalid: {detail}',
    zh: '字段 "{field}" 无效：{detail}',
  },
  invalid_timestamp: {
    status: 400,
    en: 'Field "{field}" is not a parseable time: {value}',
    zh: '字段 "{field}" 不是可解析的时间：{value}',
  },
  future_timestamp: {
    status: 400,
    en: 'Field "{field}" lies more than {limitHours} hours in the future after clock-skew correction.',
    zh: '字段 "{field}" 经时钟偏差校正后超出未来 {limitHours} 小时。',
  },
  too_deep: {
    status: 400,
    en: 'The event nests objects more than {limit} levels deep.',
    zh: '事件中的对象嵌套超过 {limit} 层。',
  },
  unknown_type: {
    status: 400,
    en: 'Unknown call type "{value}": use track, identify, page, screen, group or alias.',
    zh: '未知的调用类型 "{value}"：请使用 track、identify、page、screen、group 或 alias。',
  },

  // metadata
  invalid_time_zone: {
    status: 400,
    en: 'Unknown time zone "{value}": use an IANA name such as Asia/Shanghai.',
    zh: '未知时区 "{value}"：请使用 IANA 时区名，例如 Asia/Shanghai。',
  },
  invalid_currency: {
    status: 400,
    en: 'Unknown currency "{value}": use an ISO 4217 code such as CNY.',
    zh: '未知货币 "{value}"：请使用 ISO 4217 代码，例如 CNY。',
  },
  not_found: { status: 404, en: '{what} "{id}" was not found.', zh: '未找到{what} "{id}"。' },
  invalid_request: { status: 400, en: 'Invalid request: {detail}', zh: '请求无效：{detail}' },

  // file import (src/collect/import)
  import_empty_file: { status: 400, en: 'The file is empty.', zh: '文件为空。' },
  import_unreadable_file: {
    status: 400,
    en: 'The file cannot be read as {format}: {detail}',
    zh: '无法按 {format} 格式读取该文件：{detail}',
  },
  import_unknown_kind: {
    status: 400,
    en: 'Unknown import kind "{value}": use one of {kinds}.',
    zh: '未知的导入类型 "{value}"：请使用 {kinds} 之一。',
  },
  import_unknown_preset: {
    status: 400,
    en: 'Unknown preset "{value}": use one of {presets}, or `pulseloop import --detect FILE` to find the one that fits.',
    zh: '未知的预设 "{value}"：请使用 {presets} 之一，或运行 `pulseloop import --detect FILE` 查找合适的预设。',
  },
  import_preset_kind_mismatch: {
    status: 400,
    en: 'Preset "{preset}" is for {presetKind} files, not {kind}.',
    zh: '预设 "{preset}" 用于 {presetKind} 文件，而不是 {kind}。',
  },
  import_reader_unknown: {
    status: 400,
    en: 'Unknown reader "{reader}": use auto (the engine reads the file where it can) or javascript.',
    zh: '未知的读取方式 "{reader}"：请使用 auto（尽可能由引擎解析）或 javascript。',
  },
  import_no_header: {
    status: 400,
    en: 'No header row found in the first {rows} rows: the file needs a row of column names.',
    zh: '前 {rows} 行中没有找到表头：文件需要一行列名。',
  },
  import_missing_columns: {
    status: 400,
    en: 'The file has no column for {fields}. Columns found: {columns}. Choose a --preset or give a --mapping file.{hint}',
    zh: '文件中没有以下字段对应的列：{fields}。找到的列：{columns}。请选择 --preset 或提供 --mapping 映射文件。{hint}',
  },
  import_invalid_date: {
    status: 400,
    en: 'The day of the numbers (--date, or date= for an upload) must be a date as YYYY-MM-DD, not "{value}".',
    zh: '数据日期（--date，上传时为 date=）必须是 YYYY-MM-DD 格式的日期，而不是 "{value}"。',
  },
  import_invalid_mapping: {
    status: 400,
    en: 'The mapping is invalid: {detail}',
    zh: '映射无效：{detail}',
  },
  import_invalid_value: {
    status: 400,
    en: 'Row {row}, column "{column}" ({field}): "{value}" {reason}.',
    zh: '第 {row} 行，列“{column}”（{field}）：“{value}”{reason}。',
  },
  import_invalid_row: {
    status: 400,
    en: 'Row {row}: {reason}.',
    zh: '第 {row} 行：{reason}。',
  },

  // connectors and webhooks (src/collect/connectors, src/collect/webhooks)
  connector_unknown: {
    status: 400,
    en: 'Unknown connector "{connector}": use one of {known}.',
    zh: '未知的连接器 "{connector}"：请使用 {known} 之一。',
  },
  connector_invalid_config: {
    status: 400,
    en: 'The settings of connector "{connector}" are invalid: {detail}',
    zh: '连接器 "{connector}" 的配置无效：{detail}',
  },
  connector_credentials_missing: {
    status: 400,
    en: 'Connector "{instance}" has no usable credentials: {detail}',
    zh: '连接器 "{instance}" 没有可用的凭证：{detail}',
  },
  connector_token_key_missing: {
    status: 500,
    en: 'The stored access token of connector "{instance}" is encrypted with PII key "{keyId}", which is not in the key ring (PULSELOOP_PII_KEYS or pii-keys.json in the data directory). Restore the key ring the token was stored under and sync again, or add the account again with a fresh token.',
    zh: '连接器 "{instance}" 已存储的访问令牌使用 PII 密钥 "{keyId}" 加密，但密钥环（PULSELOOP_PII_KEYS 或数据目录下的 pii-keys.json）中没有该密钥。请恢复存储令牌时使用的密钥环后重新同步，或使用新令牌重新添加该账号。',
  },
  connector_token_unreadable: {
    status: 500,
    en: 'The stored access token of connector "{instance}" cannot be decrypted with PII key "{keyId}": the key differs from the one it was encrypted with, or the stored value was altered. Restore the original key ring and sync again, or add the account again with a fresh token.',
    zh: '无法使用 PII 密钥 "{keyId}" 解密连接器 "{instance}" 已存储的访问令牌：该密钥与加密时使用的密钥不同，或存储的值已被篡改。请恢复原来的密钥环后重新同步，或使用新令牌重新添加该账号。',
  },
  connector_bad_credentials: {
    status: 401,
    en: 'The {platform} API refused the access token of connector "{instance}" (code {code}: {detail}). Renew the token and update the connector; this sync stopped and will not be retried.',
    zh: '{platform}接口拒绝了连接器 "{instance}" 的访问令牌（错误码 {code}：{detail}）。请更新令牌后重新配置连接器；本次同步已停止，不会自动重试。',
  },
  connector_api_error: {
    status: 502,
    en: 'The {platform} API answered with an error (code {code}: {detail}).',
    zh: '{platform}接口返回错误（错误码 {code}：{detail}）。',
  },
  connector_retries_exhausted: {
    status: 503,
    en: 'The {platform} API still refused after {attempts} attempts ({detail}); the sync will be retried later from its last checkpoint.',
    zh: '{platform}接口在尝试 {attempts} 次后仍然拒绝请求（{detail}）；同步将稍后从上一个检查点继续。',
  },
  connector_sync_busy: {
    status: 409,
    en: 'A sync of {instance} / {stream} is already running in {holder} (lease until {until}).',
    zh: '{instance} / {stream} 的同步已在 {holder} 中运行（租约至 {until}）。',
  },
  // The same refusal over HTTP, without the worker's host and process id.
  connector_sync_running: {
    status: 409,
    en: 'A sync of {instance} / {stream} is already running; try again after it ends (at the latest {until}).',
    zh: '{instance} / {stream} 的同步正在运行；请在其结束后重试（最迟 {until}）。',
  },
  connector_name_taken: {
    status: 409,
    en: 'This project already has a connector named "{name}"; choose another name.',
    zh: '该项目已有名为 "{name}" 的连接器，请换一个名称。',
  },
  connector_row_invalid: {
    status: 400,
    en: 'The {platform} API returned a row with an invalid "{field}": {detail}',
    zh: '{platform}接口返回的数据行中 "{field}" 无效：{detail}',
  },
  webhook_not_configured: {
    status: 404,
    en: 'No {platform} webhook is configured for source "{sourceId}". Set its secret with `pulseloop connectors webhook-secret`.',
    zh: '数据源 "{sourceId}" 未配置 {platform} Webhook。请使用 `pulseloop connectors webhook-secret` 设置密钥。',
  },
  webhook_unknown_platform: {
    status: 404,
    en: 'Unknown webhook platform "{platform}": use one of {known}.',
    zh: '未知的 Webhook 平台 "{platform}"：请使用 {known} 之一。',
  },
  webhook_bad_signature: {
    status: 401,
    en: 'The {platform} webhook signature does not match the body: check the secret configured for source "{sourceId}".',
    zh: '{platform} Webhook 签名与请求体不符：请检查数据源 "{sourceId}" 配置的密钥。',
  },
  webhook_invalid_payload: {
    status: 400,
    en: 'The {platform} webhook payload is invalid: {detail}',
    zh: '{platform} Webhook 内容无效：{detail}',
  },

  // analytics queries
  invalid_query: {
    status: 400,
    en: 'Invalid query at "{field}": {detail}',
    zh: '查询的 "{field}" 无效：{detail}',
  },
  unknown_project: {
    status: 404,
    en: 'No project with id "{projectId}". List projects with `pulseloop projects list`.',
    zh: '项目 "{projectId}" 不存在。可用 `pulseloop projects list` 查看项目。',
  },

  // metrics catalogue, saved insights and dashboards (src/analyze/metrics, src/analyze/saved.ts)
  invalid_metric: {
    status: 400,
    en: 'Invalid metric definition at "{field}": {detail}',
    zh: '指标定义的 "{field}" 无效：{detail}',
  },
  invalid_insight: {
    status: 400,
    en: 'Invalid insight or dashboard at "{field}": {detail}',
    zh: '看板或洞察的 "{field}" 无效：{detail}',
  },

  // content analytics (src/analyze/content)
  content_not_found: {
    status: 404,
    en: 'No statistics for content "{contentId}" on {platform}. Check the platform and id, or import its creator-centre export first.',
    zh: '{platform} 上没有内容 "{contentId}" 的数据。请检查平台和内容 ID，或先导入创作者中心的数据导出。',
  },

  // governance: users, sessions, roles, tokens, consent, PII keys, erasure, retention (src/govern)
  not_authenticated: {
    status: 401,
    en: 'Sign in first: send the session cookie or an API token as "Authorization: Bearer pl_pat_…".',
    zh: '请先登录：请携带会话 Cookie，或以 "Authorization: Bearer pl_pat_…" 发送 API 令牌。',
  },
  invalid_credentials: {
    status: 401,
    en: 'The e-mail address or password is wrong.',
    zh: '邮箱或密码错误。',
  },
  forbidden: {
    status: 403,
    en: 'Your role "{role}" in this project does not allow "{permission}". Ask a project owner or admin.',
    zh: '您在该项目中的角色 "{role}" 没有 "{permission}" 权限。请联系项目所有者或管理员。',
  },
  write_key_not_allowed: {
    status: 403,
    en: 'A write key can only send events; use a session or a personal API token (pl_pat_…) to read.',
    zh: '写入密钥只能上报事件；读取数据请使用登录会话或个人 API 令牌（pl_pat_…）。',
  },
  csrf_failed: {
    status: 403,
    en: 'CSRF check failed: send the X-CSRF-Token header with the token from the csrf cookie, from the same origin.',
    zh: 'CSRF 校验失败：请在同源请求中携带 X-CSRF-Token 请求头，其值为 csrf Cookie 中的令牌。',
  },
  weak_password: {
    status: 400,
    en: 'The password must have at least {min} characters.',
    zh: '密码至少需要 {min} 个字符。',
  },
  user_exists: {
    status: 409,
    en: 'A user with the e-mail address "{email}" already exists.',
    zh: '邮箱为 "{email}" 的用户已存在。',
  },
  owner_exists: {
    status: 409,
    en: 'An owner already exists; add further users with `pulseloop users add`.',
    zh: '所有者已存在；请使用 `pulseloop users add` 添加其他用户。',
  },
  invalid_role: {
    status: 400,
    en: 'Unknown role "{role}": use one of {known}.',
    zh: '未知角色 "{role}"：请使用 {known} 之一。',
  },
  last_owner: {
    status: 409,
    en: 'Project "{projectId}" must keep at least one owner.',
    zh: '项目 "{projectId}" 至少需要保留一名所有者。',
  },
  invalid_consent: {
    status: 400,
    en: 'Invalid consent: {detail}',
    zh: '同意记录无效：{detail}',
  },
  pii_key_missing: {
    status: 500,
    en: 'PII key "{keyId}" is not in the key ring; restore the key file or PULSELOOP_PII_KEYS.',
    zh: '密钥环中没有 PII 密钥 "{keyId}"；请恢复密钥文件或 PULSELOOP_PII_KEYS。',
  },
  pii_keys_invalid: {
    status: 500,
    en: 'The PII keys are invalid: {detail}',
    zh: 'PII 密钥无效：{detail}',
  },
  pii_key_in_use: {
    status: 409,
    en: 'PII key "{keyId}" still protects {count} stored values; run re-encryption before retiring it.',
    zh: 'PII 密钥 "{keyId}" 仍在保护 {count} 个已存储的值；请先重新加密再停用。',
  },
  person_not_found: {
    status: 404,
    en: 'No person or distinct id "{id}" in project "{projectId}".',
    zh: '项目 "{projectId}" 中没有人员或标识 "{id}"。',
  },
  conflict_not_found: {
    status: 404,
    en: 'No conflict between "{distinctId}" and "{otherDistinctId}" in project "{projectId}": give the two ids as the conflicts list names them.',
    zh: '项目 "{projectId}" 中没有 "{distinctId}" 与 "{otherDistinctId}" 之间的冲突：请按冲突列表中的写法给出这两个标识。',
  },
  persons_already_one: {
    status: 409,
    en: '"{into}" and "{from}" already belong to one person ({personId}): there is nothing to merge.',
    zh: '"{into}" 与 "{from}" 已属于同一人员（{personId}），无需合并。',
  },
  invalid_retention: {
    status: 400,
    en: 'Invalid retention for "{kind}": {detail}',
    zh: '"{kind}" 的保留期限无效：{detail}',
  },
} as const satisfies Record<string, { status: number; en: string; zh: string }>;

export type ErrorCode = keyof typeof ERRORS;
/**
 * What fills `{name}` in the messages. Free text is given in both languages: `name` in English and
 * `name_zh` in Chinese (`detailText` writes both). The Chinese message falls back to `name` where
 * there is no Chinese text: an id, a number, or words quoted from another system.
 */
export type Details = Record<string, string | number>;

function fill(template: string, details: Details, lang: 'en' | 'zh'): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = (lang === 'zh' ? details[`${name}_zh`] : undefined) ?? details[name];
    return value === undefined ? whole : String(value);
  });
}

/** A free-text `detail` in English and Chinese, to spread into an error's details. */
export function detailText(en: string, zh: string): { detail: string; detail_zh: string } {
  return { detail: en, detail_zh: zh };
}

/**
 * What JSON.parse said, shortened, as an `invalid_json` detail: its English as it is, in Chinese
 * where it stopped, and the position (counted from 0, as JSON.parse counts) when it gave one.
 */
export function jsonParseDetail(error: unknown): { detail: string; detail_zh: string; position?: number } {
  const message = error instanceof Error ? error.message : String(error);
  const detail = message.length > 200 ? `${message.slice(0, 200)}…` : message;
  const match = /position (\d+)/.exec(message);
  if (!match) return { detail, detail_zh: `语法错误（${detail}）` };
  const position = Number(match[1]);
  return { detail, detail_zh: `位置 ${position} 处语法错误（${detail}）`, position };
}

/** A list of choices as the detail `name`: joined with ", " in English and with 、 in Chinese. */
export function listDetail(name: string, items: readonly string[]): Details {
  return { [name]: items.join(', '), [`${name}_zh`]: items.join('、') };
}

/** The `detail` of an error's details (both languages), to carry into another error. */
export function detailOf(details: Details): { detail: string; detail_zh?: string } {
  const en = String(details.detail ?? '');
  return details.detail_zh === undefined
    ? { detail: en }
    : { detail: en, detail_zh: String(details.detail_zh) };
}

/** An error a person caused, with a stable code, status and messages in both languages. */
export class PulseloopError extends Error {
  override name = 'PulseloopError';
  readonly status: number;
  readonly zh: string;

  constructor(
    readonly code: ErrorCode,
    readonly details: Details = {},
  ) {
    const entry = ERRORS[code];
    super(fill(entry.en, details, 'en'));
    this.status = entry.status;
    this.zh = fill(entry.zh, details, 'zh');
  }

  /** The JSON body an HTTP route answers with. */
  toJSON(): { error: { code: ErrorCode; message: string; message_zh: string; details: Details } } {
    return { error: { code: this.code, message: this.message, message_zh: this.zh, details: this.details } };
  }
}

/** The message for a code in the given language, without raising. */
export function errorMessage(code: ErrorCode, details: Details = {}, lang: 'en' | 'zh' = 'en'): string {
  return fill(ERRORS[code][lang], details, lang);
}
