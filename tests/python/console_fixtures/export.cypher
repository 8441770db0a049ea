UNWIND ['CREATE (:Copy {n: 1, s: "a;b"});', 'CREATE (:Copy {n: 2});', 'MATCH (c:Copy) SET c.seen = true;'] AS q RETURN q;
