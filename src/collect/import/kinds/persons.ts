import { type KindSpec, missing, text } from './types.js';

/** Persons: the latest traits per person; an import merges its traits into the stored ones. */
export const persons: KindSpec = {
  kind: 'persons',
  table: 'persons',
  en: 'persons (traits)',
  zh: '用户（属性）',
  fields: {
    person_id: {
      type: 'text',
      required: true,
      en: 'person or distinct id',
      zh: '用户 ID',
      synonyms: [
        'person_id',
        'distinct_id',
        'user_id',
        'userId',
        'id',
        '用户ID',
        '会员ID',
        '客户ID',
        'openid',
      ],
    },
    name: {
      type: 'text',
      en: 'name',
      zh: '姓名',
      synonyms: ['name', '姓名', '昵称', '用户昵称', '客户名称'],
    },
    email: { type: 'text', en: 'e-mail', zh: '邮箱', synonyms: ['email', 'e-mail', '邮箱', '电子邮箱'] },
    phone: {
      type: 'text',
      en: 'phone',
      zh: '手机号',
      synonyms: ['phone', 'mobile', '手机', '手机号', '电话'],
    },
    gender: { type: 'text', en: 'gender', zh: '性别', synonyms: ['gender', '性别'] },
    city: { type: 'text', en: 'city', zh: '城市', synonyms: ['city', '城市'] },
    province: { type: 'text', en: 'province', zh: '省份', synonyms: ['province', 'region', '省份', '省'] },
    birthday: { type: 'date', en: 'birthday', zh: '生日', synonyms: ['birthday', '生日', '出生日期'] },
    member_level: {
      type: 'text',
      en: 'membership level',
      zh: '会员等级',
      synonyms: ['member_level', 'level', '会员等级'],
    },
    signed_up_at: {
      type: 'datetime',
      en: 'sign-up time',
      zh: '注册时间',
      synonyms: ['signed_up_at', 'created_at', '注册时间', '入会时间'],
    },
  },
  naturalKey: ['person_id'],
  idColumn: 'person_id',
  compare: { traits: 'text', consent: 'text', created_at: 'ms' },
  keepsExtras: true,
  build(values, context) {
    const personId = text(values, 'person_id');
    if (!personId) throw missing('person_id', this.fields.person_id!);
    const traits: Record<string, unknown> = { ...context.extras };
    for (const [field, value] of Object.entries(values)) {
      if (field === 'person_id' || value === undefined) continue;
      traits[field] = field === 'signed_up_at' ? new Date(value as number).toISOString() : value;
    }
    return {
      project_id: context.projectId,
      person_id: personId,
      traits: JSON.stringify(traits),
      consent: '{}',
      created_at: context.updatedAt,
      updated_at: context.updatedAt,
      // Versions are microseconds like the identity resolver's, so the later write wins either way.
      version: context.updatedAt * 1000,
    };
  },
  reconcile(row, stored) {
    const merged = {
      ...(JSON.parse(String(stored.traits || '{}')) as object),
      ...(JSON.parse(String(row.traits)) as object),
    };
    row.traits = JSON.stringify(merged);
    if (stored.created_at !== undefined) row.created_at = stored.created_at;
    if (stored.consent) row.consent = stored.consent;
  },
};
