import { Field, ObjectType, type ClassType } from 'type-graphql';

/** Relay-style page info shared by every connection. */
@ObjectType({ description: 'Where a page of a paged list starts and ends.' })
export class PageInfo {
  @Field(() => Boolean, { description: 'Whether more items follow this page.' }) hasNextPage!: boolean;
  @Field(() => String, { nullable: true, description: 'An opaque cursor to pass as `after` for the next page; null when the page is empty.' }) endCursor!: string | null;
  @Field(() => Boolean, { description: 'Whether items come before this page: true when `after` was given and the list still holds that item or a newer one (matching the same filters).' }) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true, description: "The cursor of this page's first item; null when the page is empty." }) startCursor!: string | null;
}

/** The GraphQL shape of one page of `Node`s: `<Name>Edge { cursor node }` and `<Name>Connection { edges pageInfo }`. */
export interface ConnectionShape<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: PageInfo;
}

/**
 * Declares the edge and connection types of a paged list once for every node type, so every
 * listing pages the same way (cursor logic: src/lib/paging.ts).
 */
export function connectionOf<Node extends object>(node: ClassType<Node>, name: string): ClassType<ConnectionShape<Node>> {
  @ObjectType(`${name}Edge`, { description: `One ${name} of a page with its cursor.` })
  class Edge {
    @Field(() => String, { description: `An opaque cursor; pass it as \`after\` to list the items after this ${name}.` }) cursor!: string;
    @Field(() => node, { description: `The ${name}.` }) node!: Node;
  }

  @ObjectType(`${name}Connection`, { description: `One page of ${name} items, newest first.` })
  class Connection {
    @Field(() => [Edge], { description: `The ${name} items of this page, newest first.` }) edges!: Edge[];
    @Field(() => PageInfo, { description: 'Whether more items follow, and the cursor to fetch them.' }) pageInfo!: PageInfo;
  }
  return Connection;
}
