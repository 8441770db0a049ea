CREATE (:Station {name: "Central", zone: 1})-[:LINE {color: "red", minutes: 4}]->(:Station:Terminus {name: "Harbour \"North\"", zone: 2});
MATCH (s:Station) RETURN s.name AS name, s.zone AS zone ORDER BY zone;
MATCH (a)-[l:LINE]->(b)
RETURN a, l,
       b;
MATCH p = (:Station {zone: 1})-[:LINE]->() RETURN p;
RETURN 1.5 AS f, 1.0 / 3 AS third, 1e21 AS big, -0.00001 AS tiny, true AS yes, null AS nothing;
RETURN [1, 'two', [3]] AS list, {key: 'v', n: 2} AS map; RETURN 'it\'s; "quoted"' AS s, 'tab	here' AS t;
RETURN date('2024-02-29') AS d, localtime('08:30:00') AS lt, localdatetime('2024-02-29T08:30:00') AS ldt, duration('P2DT3H4M5.5S') AS dur;
MATCH (n) WHERE n.zone > 100 RETURN n;
