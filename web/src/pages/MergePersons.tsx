import { Alert, Card, Col, Input, Modal, Radio, Row, Space, Typography } from 'antd';
import { useState } from 'react';
import { api, errorText } from '../api';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { idTypeName } from '../format';
import { useLang, useT } from '../i18n';
import { PersonTraits } from './PersonTraits';
import type { PersonIdentity } from './people-types';

/** What POST /persons/merge answers (src/collect/identity-actions.ts ManualMergeResult). */
export interface MergeResult {
  personId: string;
  mergedFrom: string;
  movedIds: number;
  reference: string;
}

/** Ids and traits shown of each person: enough to recognise them, not a whole profile. */
const IDS_SHOWN = 5;
const TRAITS_SHOWN = 8;

/** A merge done: its answer, and the id the user named the merged person by. */
export interface MergeDone {
  result: MergeResult;
  from: string;
}

/** The older person (its first id linked earlier) is kept unless the user picks the other. */
const firstLinked = (p: PersonIdentity) => Math.min(...p.ids.map((i) => i.linkedAt), Number.MAX_SAFE_INTEGER);

/**
 * Merging the persons of two ids (a conflict's two sides, or the person shown and one the user names
 * here): both shown side by side, the user picks the one to keep, a warning says what happens and
 * that it cannot be undone.
 */
export function MergePersonsModal({
  base,
  first,
  second,
  onClose,
}: {
  base: string;
  first: string;
  /** Absent: the dialog asks for it first. */
  second?: string;
  onClose: (merged?: MergeDone) => void;
}) {
  const t = useT();
  const lang = useLang();
  const [other, setOther] = useState(second);
  const ids = [first, other ?? ''] as const;
  const persons = useAsync(
    async () =>
      other === undefined
        ? undefined
        : Promise.all(
            ids.map((id) => api.get<PersonIdentity>(`${base}/persons/${encodeURIComponent(id)}/identity`)),
          ),
    [base, first, other],
  );
  const [chosen, setChosen] = useState<0 | 1>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string>();
  const loaded = persons.data;
  const keep: 0 | 1 = chosen ?? (loaded && firstLinked(loaded[1]!) < firstLinked(loaded[0]!) ? 1 : 0);

  const merge = async () => {
    const into = ids[keep];
    const from = ids[keep === 0 ? 1 : 0];
    setSaving(true);
    setError(undefined);
    try {
      const result = await api.post<MergeResult>(`${base}/persons/merge`, { into, from });
      onClose({ result, from });
    } catch (e) {
      setError(errorText(e, lang));
      setSaving(false);
    }
  };

  const personCard = (person: PersonIdentity, index: 0 | 1) => {
    const traits = Object.entries(person.traits).slice(0, TRAITS_SHOWN);
    return (
      <Card
        size="small"
        data-testid={`merge-person-${index}`}
        title={<Radio value={index}>{t('people.mergeKeep')}</Radio>}
        style={keep === index ? { borderColor: '#1677ff' } : undefined}
      >
        <Typography.Text code>{person.personId}</Typography.Text>
        <Typography.Paragraph type="secondary" style={{ margin: '8px 0 4px' }}>
          {t('people.mergeIds').replace('{n}', person.idsTotal.toLocaleString())}
        </Typography.Paragraph>
        <ul style={{ margin: 0, paddingInlineStart: 18 }}>
          {person.ids.slice(0, IDS_SHOWN).map((i) => (
            <li key={i.id}>
              <Typography.Text ellipsis style={{ maxWidth: 300 }}>
                {i.id}
              </Typography.Text>{' '}
              <Typography.Text type="secondary">· {idTypeName(i.type, lang)}</Typography.Text>
            </li>
          ))}
          {person.idsTotal > IDS_SHOWN && <li>…</li>}
        </ul>
        {traits.length === 0 ? (
          <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
            {t('people.mergeNoTraits')}
          </Typography.Paragraph>
        ) : (
          <PersonTraits traits={traits} column={1} style={{ marginTop: 8 }} />
        )}
      </Card>
    );
  };

  return (
    <Modal
      open
      width={760}
      title={t('people.mergeTitle')}
      okText={t('people.mergeOk')}
      okButtonProps={{ danger: true, disabled: !loaded, ...{ 'data-testid': 'merge-ok' } }}
      cancelText={t('sources.cancel')}
      confirmLoading={saving}
      onOk={merge}
      onCancel={() => onClose()}
      destroyOnHidden
      data-testid="merge-modal"
    >
      {other === undefined ? (
        <>
          <Typography.Paragraph type="secondary">{t('people.mergeOtherHint')}</Typography.Paragraph>
          <Input.Search
            autoFocus
            enterButton
            data-testid="merge-other-id"
            placeholder={t('people.search')}
            onSearch={(v) => {
              if (v.trim()) setOther(v.trim());
            }}
          />
        </>
      ) : (
        <PageState state={persons}>
          {(loadedPersons) => {
            if (!loadedPersons) return null;
            const [a, b] = loadedPersons;
            return (
              <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
                <Radio.Group
                  value={keep}
                  onChange={(e) => setChosen(e.target.value)}
                  style={{ width: '100%' }}
                >
                  <Row gutter={12}>
                    <Col xs={24} md={12}>
                      {personCard(a!, 0)}
                    </Col>
                    <Col xs={24} md={12}>
                      {personCard(b!, 1)}
                    </Col>
                  </Row>
                </Radio.Group>
                <Alert type="warning" showIcon message={t('people.mergeWarning')} />
                {error && <Alert type="error" showIcon message={error} data-testid="merge-error" />}
              </Space>
            );
          }}
        </PageState>
      )}
    </Modal>
  );
}
