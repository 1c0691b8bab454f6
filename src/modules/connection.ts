import { Field, ObjectType, type ClassType } from 'type-graphql';

/** Relay-style page info shared by every connection. */
@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
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
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String) cursor!: string;
    @Field(() => node) node!: Node;
  }

  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
  }
  return Connection;
}
