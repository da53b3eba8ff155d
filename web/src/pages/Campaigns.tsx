import { Empty } from 'antd';

export default function Campaigns() {
  return <Empty />;
}
